// Errors found in a network config file. Parsing collects every problem it finds and throws
// one ConfigError carrying all of them; each prints as "FILE:LINE: reason".

export interface ConfigIssue {
  file: string;
  /** 1-based line number; absent only when the file itself could not be read. */
  line?: number;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.line === undefined ? `${issue.file}: ${issue.message}` : `${issue.file}:${issue.line}: ${issue.message}`;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** Each issue formatted as "FILE:LINE: reason", in line order. */
  get lines(): string[] {
    return this.issues.map(formatIssue);
  }
}
