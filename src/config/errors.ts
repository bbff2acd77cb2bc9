// Errors found in a network config file. Parsing collects every problem it finds and throws
// one ConfigError carrying all of them; each prints as "FILE:LINE: reason". Messages quote at
// most a short piece of the offending token (quoteToken), and a file with many problems (say,
// the wrong file, or a symlink to an unrelated one) prints only the first few: no error shows
// whole lines of a file that may not be a config at all.
import { CONFIG_ERRORS_SHOWN, CONFIG_ERROR_TOKEN } from '../params.js';

export interface ConfigIssue {
  file: string;
  /** 1-based line number; absent only when the file itself could not be read. */
  line?: number;
  message: string;
}

/** A token of the file, quoted (JSON: control characters escaped) and cut to CONFIG_ERROR_TOKEN characters. */
export function quoteToken(token: string): string {
  const chars = [...token];
  return JSON.stringify(chars.length > CONFIG_ERROR_TOKEN ? chars.slice(0, CONFIG_ERROR_TOKEN).join('') + '…' : token);
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.line === undefined ? `${issue.file}: ${issue.message}` : `${issue.file}:${issue.line}: ${issue.message}`;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(shownLines(issues).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** Each issue formatted as "FILE:LINE: reason", in line order. */
  get lines(): string[] {
    return this.issues.map(formatIssue);
  }

  /** The first CONFIG_ERRORS_SHOWN lines, and a count of the rest: what is printed. */
  get shown(): string[] {
    return shownLines(this.issues);
  }
}

function shownLines(issues: readonly ConfigIssue[]): string[] {
  const out = issues.slice(0, CONFIG_ERRORS_SHOWN).map(formatIssue);
  const more = issues.length - CONFIG_ERRORS_SHOWN;
  if (more > 0) out.push(`${issues[0]!.file}: … and ${more} more problem${more === 1 ? '' : 's'}`);
  return out;
}
