/** Thrown by a command's action to end the CLI with a given exit code (Consul's CLI conventions). */
export class CliExit extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message = '') {
    super(message);
    this.name = 'CliExit';
    this.exitCode = exitCode;
  }
}
