/** Where the device writes its log lines; the CLI formats them like wireguard-go. */
export interface Logger {
  debug(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, error() {} };
