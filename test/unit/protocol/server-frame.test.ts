// Server frames of docs/PROTOCOL.md section 3: the encoders emit exactly the documented JSON, the
// client decoder accepts it back and refuses anything else; close codes match rule 7.

import t from 'tap';
import { CloseCode } from '../../../src/protocol/close-codes.js';
import {
  decodeServerFrame,
  encodeAck,
  encodeClosed,
  encodeErr,
  encodeNack,
  encodeWelcome,
  ERR_CODES,
  NACK_CODES,
} from '../../../src/protocol/server-frame.js';

t.test('encoders write the JSON of section 3', async (t) => {
  const welcome = { exam: 'E1', student: 'S1', lastSeq: 41, state: 'open', serverTime: 1764400000000 } as const;
  t.same(JSON.parse(encodeWelcome(welcome)), { t: 'welcome', ...welcome });
  t.same(JSON.parse(encodeAck(42)), { t: 'ack', seq: 42 });
  t.same(JSON.parse(encodeAck(Number.MAX_SAFE_INTEGER)), { t: 'ack', seq: Number.MAX_SAFE_INTEGER });
  for (const code of NACK_CODES) t.same(JSON.parse(encodeNack(42, code)), { t: 'nack', seq: 42, code });
  for (const code of ERR_CODES) t.same(JSON.parse(encodeErr(code, 'why')), { t: 'err', code, msg: 'why' });
  t.same(JSON.parse(encodeErr('bad_request', 'a "quoted"\nmessage \\ é \u2028')), { t: 'err', code: 'bad_request', msg: 'a "quoted"\nmessage \\ é \u2028' });
  t.same(JSON.parse(encodeClosed()), { t: 'closed' });
});

t.test('the client decoder reads back every encoded frame', async (t) => {
  const welcome = { exam: 'E1', student: 'S1', lastSeq: 0, state: 'closed', serverTime: 1 } as const;
  t.same(decodeServerFrame(encodeWelcome(welcome)), { t: 'welcome', ...welcome });
  t.same(decodeServerFrame(encodeAck(7)), { t: 'ack', seq: 7 });
  t.same(decodeServerFrame(encodeNack(7, 'submitted')), { t: 'nack', seq: 7, code: 'submitted' });
  t.same(decodeServerFrame(encodeErr('busy', 'slow down')), { t: 'err', code: 'busy', msg: 'slow down' });
  t.same(decodeServerFrame(encodeClosed()), { t: 'closed' });
  t.same(decodeServerFrame('{"t":"ack","seq":3,"extra":true}'), { t: 'ack', seq: 3 }, 'unknown fields ignored');
  t.same(decodeServerFrame('{"t":"err","code":"replaced"}'), { t: 'err', code: 'replaced', msg: '' }, 'msg defaults to empty');
});

t.test('the client decoder refuses malformed frames', async (t) => {
  const bad = [
    '',
    'nope',
    '[]',
    'null',
    '{}',
    '{"t":"hello"}',
    '{"t":"ack"}',
    '{"t":"ack","seq":-1}',
    '{"t":"ack","seq":1.5}',
    '{"t":"ack","seq":"1"}',
    '{"t":"ack","seq":9007199254740992}',
    '{"t":"nack","seq":1}',
    '{"t":"nack","seq":1,"code":"nope"}',
    '{"t":"err","code":"nope","msg":"x"}',
    '{"t":"welcome","exam":"E","student":"S","lastSeq":0,"state":"finalized","serverTime":1}',
    '{"t":"welcome","exam":"E","student":"S","lastSeq":-1,"state":"open","serverTime":1}',
    '{"t":"welcome","exam":"E","student":"S","state":"open","serverTime":1}',
    '{"t":"welcome","exam":"E","lastSeq":0,"state":"open","serverTime":1}',
    '{"t":"welcome","exam":"E","student":"S","lastSeq":0,"state":"open"}',
    '{"__proto__":{"t":"closed"}}',
  ];
  for (const text of bad) t.equal(decodeServerFrame(text), null, text);
});

t.test('close codes are the numbers of section 3 rule 8', async (t) => {
  t.same(CloseCode, { GoingAway: 1001, TryAgainLater: 1013, InvalidUtf8: 1007, MessageTooBig: 1009, ProtocolViolation: 4400, BadToken: 4401, HelloTimeout: 4408, Replaced: 4409, RateAbuse: 4429 });
});
