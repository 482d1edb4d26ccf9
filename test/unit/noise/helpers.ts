import { readFileSync } from 'node:fs';
import type { RandomSource } from '../../../src/clock.js';
import { bytesToHex, hexToBytes } from '../../../src/crypto/index.js';

export function loadVector<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

export const hex = bytesToHex;
export const bytes = hexToBytes;

/**
 * Deterministic RandomSource: hands out the queued byte strings in order (each fill must
 * match the queued length), then a counter pattern so later fills differ from each other.
 */
export class ScriptedRandom implements RandomSource {
  private readonly queue: Uint8Array[];
  private counter = 1;
  fills = 0;

  constructor(...queue: Uint8Array[]) {
    this.queue = queue;
  }

  fill(buf: Uint8Array): Uint8Array {
    this.fills++;
    const next = this.queue.shift();
    if (next) {
      if (next.length !== buf.length) throw new Error(`scripted random: want ${buf.length}, have ${next.length}`);
      buf.set(next);
    } else {
      for (let i = 0; i < buf.length; i++) buf[i] = (this.counter * 131 + i * 7) & 0xff;
      this.counter++;
    }
    return buf;
  }
}

export interface TranscriptVector {
  key_derivation_of_inputs: string;
  inputs: {
    initiator_static_private: string;
    initiator_static_public: string;
    responder_static_private: string;
    responder_static_public: string;
    initiator_ephemeral_private: string;
    initiator_ephemeral_public: string;
    responder_ephemeral_private: string;
    responder_ephemeral_public: string;
    preshared_key: string;
    initiator_sender_index: number;
    responder_sender_index: number;
    timestamp_unix_seconds: number;
    timestamp_nanoseconds: number;
    timestamp_tai64n: string;
  };
  constants: Record<string, string>;
  initiation_intermediates: Record<string, string>;
  response_intermediates: Record<string, string>;
  messages: { initiation: string; response: string; initiation_layout: string; response_layout: string };
  handshake_hash: string;
  final_chaining_key: string;
  transport_keys: Record<string, string>;
  transport_samples: {
    direction: string;
    receiver_index: number;
    counter: number;
    plaintext_ip_packet: string;
    padded_to_multiple_of_16?: boolean;
    message: string;
  }[];
  transport_layout: string;
  cookie: Record<string, string>;
}

export interface NoiseVectorFile {
  vectors: {
    protocol_name: string;
    init_prologue: string;
    init_psks: string[];
    init_static: string;
    init_ephemeral: string;
    init_remote_static: string;
    resp_prologue: string;
    resp_psks: string[];
    resp_static: string;
    resp_ephemeral: string;
    handshake_hash: string;
    messages: { payload: string; ciphertext: string }[];
  }[];
}
