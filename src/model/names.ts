// Case folding of names: nodes, groups, resources, types, properties and
// cluster database keys and values all compare case-insensitively, as in the
// Windows registry.

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * Case folding as the registry does it: each character upper-cased on its own;
 * characters whose upper case is longer (such as "ß") stay as they are, so
 * folding never changes a name's length. ASCII names (nearly all) take one
 * toUpperCase of the whole string, which gives the same result.
 */
export function canonicalName(name: string): string {
  if (ASCII_ONLY.test(name)) return name.toUpperCase();
  let out = '';
  for (const ch of name) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}
