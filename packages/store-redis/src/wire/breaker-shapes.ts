/**
 * The Lua that `breaker.lua` and its fast path take from the wire tables: the config arguments
 * read into locals by name (BREAKER_CONFIG), the document's encoder, and the fast path's patterns
 * and the document head it writes, all from DOCUMENT_FIELDS, so that the fast path reads exactly
 * what the encoder writes and neither keeps a key order by hand.
 */
import {
  CLOSED_PERIOD_PERMIT,
  CURRENT_PERMIT,
  DENIED_FORCED_OPEN,
  DENIED_HALF_OPEN,
  DENIED_OPEN,
} from '@breakwater/core/engine';
import { MAX_LEASE } from '../permit-codec.js';
import { BREAKER_CONFIG, type BreakerConfigName } from './breaker-config.js';
import {
  COUNT_WINDOW_FIELDS,
  type CountWindowField,
  DOCUMENT_FIELDS,
  type DocumentField,
} from './breaker-document.js';
import { jsonFields, lua, luaConcat, luaPattern, type Part } from './lua-codegen.js';
import { luaArgReader } from './script-args.js';

type Parts<F extends string> = Record<F, Part | readonly Part[]>;

function object<F extends string>(fields: readonly [F, ...F[]], parts: Parts<F>): Part[] {
  return ['{', ...jsonFields(fields, parts, fields[0], fields[fields.length - 1] ?? fields[0]), '}'];
}

const countWindow = (parts: Parts<CountWindowField>): Part[] => object(COUNT_WINDOW_FIELDS, parts);

/** The document from its first field up to the config's value, exclusive. */
const head = (parts: Partial<Parts<DocumentField>>): Part[] => [
  '{',
  ...jsonFields(DOCUMENT_FIELDS, { ...parts, cfg: parts.cfg ?? '' }, 'v', 'cfg'),
];

/** The fields after the config, to the end of the document (`leases`, the last one). */
const rest = (parts: Partial<Parts<DocumentField>>): Part[] => [
  ',',
  ...jsonFields(DOCUMENT_FIELDS, parts, 'since', 'leases'),
  '}',
];

/** How `encodeDocument(s, cfgJson)` writes each field of the state record `s`. */
const ENCODED: Parts<DocumentField> = {
  v: '1',
  state: lua('cjson.encode(s.state)'),
  generation: lua('tostring(s.generation)'),
  consecutiveFailures: lua('tostring(s.consecutiveFailures)'),
  window: lua('window'),
  cfg: lua('cfgJson'),
  since: lua('tostring(s.since)'),
  openUntil: lua('tostring(s.openUntil)'),
  attempts: lua('tostring(s.attempts)'),
  halfOpenAvailable: lua('tostring(s.halfOpenAvailable)'),
  notPermitted: lua('tostring(s.notPermitted)'),
  exceededReported: lua('tostring(s.exceededReported)'),
  leaseSeq: lua('tostring(s.leaseSeq)'),
  leases: lua('cjson.encode(s.leases)'),
};

const ENCODED_COUNT_WINDOW: Parts<CountWindowField> = {
  type: '"COUNT"',
  size: lua('tostring(w.size)'),
  calls: lua('tostring(w.calls)'),
  failures: lua('tostring(w.failures)'),
  slow: lua('tostring(w.slow)'),
  slowFailures: lua('tostring(w.slowFailures)'),
  head: lua('tostring(w.head)'),
  minimumCalls: lua('tostring(w.minimumCalls)'),
  ring: lua('cjson.encode(w.ring)'),
};

/** `encodeDocument(s, cfgJson)`: the document in DOCUMENT_FIELDS' order (a TIME window as cjson writes it). */
function encodeDocumentLua(): string {
  return [
    'local function encodeDocument(s, cfgJson)',
    '  local w = s.window',
    '  local window',
    "  if w.type == 'COUNT' then",
    `    window = ${luaConcat(countWindow(ENCODED_COUNT_WINDOW))}`,
    '  else',
    '    window = cjson.encode(w)',
    '  end',
    `  return ${luaConcat(object(DOCUMENT_FIELDS, ENCODED))}`,
    'end',
  ].join('\n');
}

/**
 * A pattern of the packed config's first arguments (`^"` then each one's pattern followed by the
 * JSON escape of a newline): every argument up to the last one given needs its pattern.
 */
function configPattern(parts: Partial<Record<BreakerConfigName, string>>): string {
  let text = '"';
  let left = Object.keys(parts).length;
  for (const arg of BREAKER_CONFIG) {
    if (left === 0) break;
    const part = parts[arg.name];
    if (part === undefined) throw new Error(`no pattern for the config argument '${arg.name}'`);
    text += `${part}\\n`;
    left--;
  }
  return luaPattern([text]);
}

/** The constants and the writer the fast path uses (`breaker-fast-path.lua`). */
function fastPathShapesLua(): string {
  const numbers = (fields: readonly string[], pattern: string) =>
    Object.fromEntries(fields.map((f) => [f, pattern]));
  const steady = head({
    v: '1',
    state: '"CLOSED"',
    generation: '(%d+)',
    consecutiveFailures: '0',
    window: countWindow({
      type: '"COUNT"',
      size: '(%d+)',
      calls: '(%d+)',
      failures: '0',
      slow: '0',
      slowFailures: '0',
      head: '%d+',
      minimumCalls: '%d+',
      ring: '"()0*()"',
    }),
    cfg: '()',
  });
  const closedCount = head({
    v: '1',
    state: '"CLOSED"',
    generation: '(%d+)',
    consecutiveFailures: '(%d+)',
    window: countWindow({
      ...numbers(['size', 'calls', 'failures', 'slow', 'slowFailures', 'head'], '(%d+)'),
      type: '"COUNT"',
      minimumCalls: '%d+',
      ring: '"([0-3]*)"',
    } as Parts<CountWindowField>),
    cfg: '()',
  });
  const closedRest = rest({
    ...numbers(['since', 'openUntil', 'attempts', 'halfOpenAvailable', 'notPermitted', 'leaseSeq'], '%d+'),
    exceededReported: 'false',
    leases: '{}',
  });
  const written = head({
    v: '1',
    state: '"CLOSED"',
    generation: lua('generation'),
    consecutiveFailures: '0',
    window: countWindow({
      type: '"COUNT"',
      size: lua('size'),
      calls: lua('calls'),
      failures: lua('failures'),
      slow: lua('slow'),
      slowFailures: lua('slowFailures'),
      head: lua('head'),
      minimumCalls: lua('minimumCalls'),
      ring: ['"', lua('ring'), '"'],
    }),
  });
  return [
    '-- a full window of successes, up to the config (captures: generation, size, calls, the ring, the config)',
    `local STEADY_DOC = ${luaPattern(steady)}`,
    '-- any CLOSED count window, up to the config',
    `local CLOSED_COUNT_DOC = ${luaPattern(closedCount)}`,
    '-- what follows the config in such a document (nothing the fast path changes, no lease)',
    `local CLOSED_COUNT_REST = ${luaPattern(closedRest, { toEnd: true })}`,
    `local CONFIG_TTL = ${configPattern({ ttlMs: '(%d+)' })}`,
    `local CONFIG_COUNT_WINDOW = ${configPattern({ ttlMs: '(%d+)', windowType: 'COUNT', windowSize: '(%d+)', closedMin: '(%d+)' })}`,
    '-- the document up to the config, as encodeDocument writes a CLOSED count window with no failure streak',
    'local function closedCountHead(generation, size, calls, failures, slow, slowFailures, head, minimumCalls, ring)',
    `  return ${luaConcat(written)}`,
    'end',
  ].join('\n');
}

/** ARGV[2] decoded and split, each argument in a local of its name; the origin from ARGV[3]. */
function configReaderLua(): string {
  return [
    'local okConfig, config = pcall(cjson.decode, ARGV[2])',
    "if not okConfig or type(config) ~= 'string' then return redis.error_reply('breakwater: bad config argument') end",
    'local C = {}',
    `for part in string.gmatch(config .. '\\n', '([^\\n]*)\\n') do C[#C + 1] = part end`,
    `if #C ~= ${BREAKER_CONFIG.length} then return redis.error_reply('breakwater: bad config argument') end`,
    luaArgReader(BREAKER_CONFIG, (arg, i) => ('apart' in arg ? 'ARGV[3]' : `C[${i}]`)),
  ].join('\n');
}

/** The permit codes the script answers with, as the engines read them (permit-codec.ts, core). */
function permitsLua(): string {
  return [
    `local CURRENT, CLOSED_PERIOD = ${CURRENT_PERMIT}, ${CLOSED_PERIOD_PERMIT}`,
    `local DENIED_OPEN, DENIED_HALF_OPEN, DENIED_FORCED_OPEN = ${DENIED_OPEN}, ${DENIED_HALF_OPEN}, ${DENIED_FORCED_OPEN}`,
    `local MAX_LEASE = ${MAX_LEASE}`,
  ].join('\n');
}

/** The generated parts of the breaker script, by the name its `--- @generated` lines give. */
export function breakerGenerated(): Record<string, string> {
  return {
    'breaker-fast-path-shapes': fastPathShapesLua(),
    'breaker-config': configReaderLua(),
    'breaker-document': encodeDocumentLua(),
    'breaker-permits': permitsLua(),
  };
}
