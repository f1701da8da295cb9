// Every wait and retry of the console page, with its unit in its name.
export const consoleLimits = {
  /** One API request (not the event stream) may take this long before it counts as failed. */
  requestTimeoutMs: 30_000,
  /** How often a running operation's progress is read from GET /v1/operations/:id. */
  operationPollIntervalMs: 300,
  /** Consecutive failed progress reads after which the page stops following an operation. */
  operationPollFailuresMax: 10,
  /** Events come in bursts (a move is a dozen of them): one re-read after the burst fills in what events do not carry. */
  rereadDebounceMs: 150,
  /** First wait before re-opening a dropped event stream; doubles up to reconnectDelayMaxMs. */
  reconnectDelayMs: 250,
  reconnectDelayMaxMs: 5_000,
  /** The server sends a heartbeat every 15 s; a stream silent for longer than this is treated as dropped. */
  streamSilenceMaxMs: 45_000,
  /** Move deadlines count down on the page this often. */
  countdownIntervalMs: 1_000,
  /** The activity list keeps this many most recent entries. */
  activityEntriesMax: 50,
} as const;
