/**
 * Why a bundle is refused, with a stable code and the admin API's status
 * (docs/errors.md lists the same table). `entry` names the zip entry or
 * manifest field at fault, when there is one.
 */
export const BUNDLE_ERRORS = {
  BUNDLE_MALFORMED: 400,
  BUNDLE_TOO_LARGE: 413,
  BUNDLE_UNCOMPRESSED_TOO_LARGE: 413,
  BUNDLE_TOO_MANY_ENTRIES: 413,
  BUNDLE_RATIO_EXCEEDED: 413,
  BUNDLE_UNSAFE_PATH: 422,
  BUNDLE_SYMLINK: 422,
  BUNDLE_DUPLICATE_ENTRY: 422,
  BUNDLE_ENCRYPTED: 422,
  BUNDLE_UNSUPPORTED_METHOD: 422,
  BUNDLE_CRC_MISMATCH: 422,
  BUNDLE_MANIFEST_MISSING: 422,
  BUNDLE_MANIFEST_INVALID: 422,
  BUNDLE_FILE_MISSING: 422,
  BUNDLE_FILE_UNLISTED: 422,
  BUNDLE_CHECKSUM_MISMATCH: 422,
  BUNDLE_SIGNATURE_REQUIRED: 422,
  BUNDLE_SIGNATURE_INVALID: 422,
} as const;

export type BundleErrorCode = keyof typeof BUNDLE_ERRORS;

export class BundleError extends Error {
  readonly status: number;
  constructor(
    readonly code: BundleErrorCode,
    message: string,
    readonly entry?: string,
  ) {
    super(message);
    this.name = 'BundleError';
    this.status = BUNDLE_ERRORS[code];
  }
}
