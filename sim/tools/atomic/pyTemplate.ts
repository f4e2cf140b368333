/**
 * Python's `string.Template.substitute`, which atomic uses to render `config.json.template`,
 * `service.template`, `tmpfiles.template` and `manifest.json` renameFiles (`SystemContainers._write_template`).
 *
 * Rules (CPython `string.Template`): `$$` is a literal `$`; `$name` and `${name}` are placeholders where a name
 * matches `[_a-z][_a-z0-9]*` case-insensitively; a `$` followed by anything else is an "invalid placeholder"
 * (ValueError). A missing key is a KeyError, which atomic turns into "The template file '...' still contains an
 * unreplaced value for: '...'" — callers get {@link TemplateKeyError} and word it.
 */

/** A placeholder whose key is not among the values (Python: KeyError). */
export class TemplateKeyError extends Error {
  constructor(readonly key: string) {
    super(`'${key}'`);
  }
}

/** A `$` not followed by a valid placeholder (Python: ValueError "Invalid placeholder in string: line L, col C"). */
export class TemplatePlaceholderError extends Error {}

const PATTERN = /\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([_a-z][_a-z0-9]*)\}|())/gi;

/** Values are stringified the way Python's `'%s' % v` would (ints as digits, booleans as True/False). */
export type TemplateValues = Record<string, string | number | boolean>;

function pyStr(v: string | number | boolean): string {
  if (typeof v === "boolean") return v ? "True" : "False";
  return String(v);
}

/** `Template(text).substitute(values)`. Throws {@link TemplateKeyError} / {@link TemplatePlaceholderError}. */
export function substituteTemplate(text: string, values: TemplateValues): string {
  return text.replace(PATTERN, (match, escaped, named, braced, invalid, offset: number) => {
    if (escaped !== undefined) return "$";
    const key = (named ?? braced) as string | undefined;
    if (key !== undefined) {
      if (!Object.prototype.hasOwnProperty.call(values, key)) throw new TemplateKeyError(key);
      return pyStr(values[key]);
    }
    if (invalid !== undefined) {
      // CPython: lines = template[:i].splitlines(keepends=True); col = i - len(all but the last line).
      const lines = text.slice(0, offset).match(/[^\n]*\n|[^\n]+$/g) ?? [];
      const line = lines.length || 1;
      const col = lines.length ? offset - lines.slice(0, -1).join("").length : 1;
      throw new TemplatePlaceholderError(`Invalid placeholder in string: line ${line}, col ${col}`);
    }
    return match;
  });
}

/** Names of the placeholders a template uses, in order of first use (atomic info's "template variables"). */
export function templatePlaceholders(text: string): string[] {
  const seen = new Set<string>();
  for (const m of text.matchAll(PATTERN)) {
    const key = m[2] ?? m[3];
    if (key !== undefined) seen.add(key);
  }
  return [...seen];
}
