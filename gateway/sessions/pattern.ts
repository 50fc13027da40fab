/**
 * Path patterns shared by access rights: literal segments, `{name}` for one
 * segment, a final `*` for any rest. Compiled once to a segment list;
 * matching is a linear walk (no regular expressions).
 */
export function compilePattern(pattern: string): (path: string) => boolean {
  const prefix = pattern.endsWith('*');
  const body = prefix ? pattern.slice(0, -1) : pattern;
  const segs = body.split('/').filter((s) => s !== '');
  const isParam = segs.map((s) => /^\{[^/{}]+\}$/.test(s));
  return (path: string) => {
    const parts = path.split('/').filter((s) => s !== '');
    if (prefix ? parts.length < segs.length : parts.length !== segs.length) return false;
    for (let i = 0; i < segs.length; i++) {
      if (!isParam[i] && segs[i] !== parts[i]) return false;
    }
    return true;
  };
}
