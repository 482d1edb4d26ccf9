/**
 * Protocol constants of WireGuard, with the names the whitepaper and the kernel use.
 * Times are in milliseconds (the device's clock unit); counters are bigint where they
 * exceed 2^53.
 */

export const REKEY_AFTER_MESSAGES = 1n << 60n;
/** 2^64 - 2^13 - 1: the last counter that may be used is REJECT_AFTER_MESSAGES - 1. */
export const REJECT_AFTER_MESSAGES = (1n << 64n) - (1n << 13n) - 1n;
export const REKEY_AFTER_TIME = 120_000;
export const REJECT_AFTER_TIME = 180_000;
export const REKEY_ATTEMPT_TIME = 90_000;
export const REKEY_TIMEOUT = 5_000;
/** Upper bound (exclusive) of the random jitter added to each RekeyTimeout. */
export const REKEY_TIMEOUT_JITTER_MAX = 334;
export const KEEPALIVE_TIMEOUT = 10_000;
export const COOKIE_REFRESH_TIME = 120_000;
/** How long a received cookie is used for mac2 (the kernel's choice, a little under 120 s). */
export const COOKIE_VALIDITY = 115_000;
/** Keys are zeroed after 3 × REJECT_AFTER_TIME without a new session. */
export const ZERO_KEYS_AFTER = REJECT_AFTER_TIME * 3;
/** Number of initiations sent before giving up (first + 19 retransmissions). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT + 2; // 20
/** At most one initiation per peer is consumed every 20 ms (A16). */
export const HANDSHAKE_INITIATION_RATE = 20;
export const UNDER_LOAD_AFTER_TIME = 1_000;
export const PADDING_MULTIPLE = 16;
export const MAX_PEERS = 65_536;
export const DEFAULT_MTU = 1420;
/** Largest MTU used for padding (65535 − IPv6 header − UDP header − WireGuard overhead). */
export const MAX_PADDING_MTU = 65_503;
/** Bounded per-peer queue of packets waiting for a session (oldest dropped first). */
export const MAX_STAGED_PACKETS = 128;
/** Replay window size in bits (kernel: 8192 − 64). */
export const REPLAY_WINDOW_BITS = 8192 - 64;

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

export const MESSAGE_INITIATION_SIZE = 148;
export const MESSAGE_RESPONSE_SIZE = 92;
export const MESSAGE_COOKIE_REPLY_SIZE = 64;
export const MESSAGE_TRANSPORT_HEADER_SIZE = 16;
export const AEAD_TAG_SIZE = 16;
export const MESSAGE_KEEPALIVE_SIZE = MESSAGE_TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE;

export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';
