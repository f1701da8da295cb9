// Every size, timeout and retry of the clustered mailbox server, in one place,
// with its unit in its name.

export interface MailboxLimits {
  /** A log generation (file) is closed and the next one started once it holds this many bytes. */
  readonly logGenerationBytesMax: number;
  /** Largest message the SMTP listener accepts (SIZE extension); larger ones get 552. */
  readonly messageBytesMax: number;
  /** Most messages one group commit writes and fsyncs together. */
  readonly commitBatchMessagesMax: number;
  /** How often passive copies replay what they received into their index checkpoint. */
  readonly copyReplayIntervalMs: number;
  /** How long closing the SMTP listener lets connected clients finish before they are cut off. */
  readonly smtpCloseGraceMs: number;
  /** An SMTP client silent this long is disconnected. */
  readonly smtpSocketIdleTimeoutMs: number;
  /** Default and largest page of the mailbox access API's message listing. */
  readonly pageSizeDefault: number;
  readonly pageSizeMax: number;
}

export const defaultMailboxLimits: MailboxLimits = {
  logGenerationBytesMax: 1024 * 1024,
  messageBytesMax: 10 * 1024 * 1024,
  commitBatchMessagesMax: 256,
  copyReplayIntervalMs: 1_000,
  smtpCloseGraceMs: 250,
  smtpSocketIdleTimeoutMs: 60_000,
  pageSizeDefault: 50,
  pageSizeMax: 1_000,
};

/** The mailbox console's own waits. */
export interface MailboxConsoleLimits {
  /** How often the console looks at an operation it waits for. */
  readonly operationPollIntervalMs: number;
  /** Longest wait for a group move (the RCM ends every move by its own deadline, 600 s by default). */
  readonly moveWaitMs: number;
  /** Longest wait for bringing a database online or the server offline/online. */
  readonly operationWaitMs: number;
  /** Longest wait for an active database to carry out a requested reseed. */
  readonly reseedWaitMs: number;
}

export const defaultMailboxConsoleLimits: MailboxConsoleLimits = {
  operationPollIntervalMs: 100,
  moveWaitMs: 660_000,
  operationWaitMs: 300_000,
  reseedWaitMs: 30_000,
};
