// An error meant for the user: printed as "wh: <message>" with the given exit status
// (1: the input was wrong, 2: usage error).
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
