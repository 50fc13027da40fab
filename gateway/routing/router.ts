/**
 * Listen-path routing. The longest listen path that is a whole-segment
 * prefix of the (already normalised) request path wins: `/api/` serves
 * `/api` and `/api/x` but not `/apiv2`. Lookup walks the request path's
 * segment boundaries from the longest prefix down, one map probe each, so
 * its cost does not grow with the number of APIs.
 */
import type { LoadedApi } from '../chain/build.ts';
import type { RouteMatch } from '../server.ts';

export interface Router {
  match(path: string): RouteMatch | null;
}

/** `/demo/` → `/demo`; `/` → `` (the root listen path). */
function key(listenPath: string): string {
  return listenPath.endsWith('/') ? listenPath.slice(0, -1) : listenPath;
}

export function buildRouter(apis: readonly LoadedApi[]): Router {
  const byPrefix = new Map<string, LoadedApi>();
  for (const api of apis) {
    const k = key(api.spec.listenPath);
    const clash = byPrefix.get(k);
    if (clash) throw new Error(`APIs "${clash.id}" and "${api.id}" share the listen path ${api.spec.listenPath}`);
    byPrefix.set(k, api);
  }
  const root = byPrefix.get('');

  return {
    match(path: string): RouteMatch | null {
      let end = path.length;
      if (path.endsWith('/')) end--;
      while (end > 0) {
        const api = byPrefix.get(end === path.length ? path : path.slice(0, end));
        if (api) {
          const rest = path.slice(end);
          const apiPath = rest.startsWith('/') ? rest : `/${rest}`;
          return { api, apiPath, upstreamPath: api.spec.stripListenPath ? apiPath : path };
        }
        end = path.lastIndexOf('/', end - 1);
      }
      return root ? { api: root, apiPath: path, upstreamPath: path } : null;
    },
  };
}
