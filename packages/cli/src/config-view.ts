import {
  BREAKER_CONFIG,
  type BreakerConfigValues,
  describeBreakerConfig,
} from '@breakwater/store-redis/wire';

/** A breaker setting as the CLI shows it: typed as users configure it. */
export type SettingValue = number | boolean | string | readonly number[];

/** The breaker settings a stored config carries, named as users configure them. */
export type BreakerSettingsView = Readonly<Record<string, SettingValue>>;

/** The type the script reads each shown setting as, by the name it is shown under (BREAKER_CONFIG). */
const TYPE_OF_SHOWN: ReadonlyMap<string, string> = new Map(
  BREAKER_CONFIG.flatMap((arg) => ('shows' in arg ? [[arg.shows, arg.type] as const] : [])),
);

/** `'50'` -> 50; text that is no number stays text, so that nothing stored is hidden. */
function numberOf(text: string): number | string {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  return Number.isFinite(n) ? n : text;
}

function typed(type: string | undefined, text: string): SettingValue {
  switch (type) {
    case 'number':
      return numberOf(text);
    case 'flag':
      return text === 'true';
    case 'numbers': {
      // One wait, or the series of a growing wait (attempts 1, 2, ...; the last one repeats).
      const parts = text.split(',').map(numberOf);
      if (!parts.every((p): p is number => typeof p === 'number')) return text;
      return parts.length === 1 ? parts[0] : parts;
    }
    default:
      return text;
  }
}

/**
 * The settings of a stored config (wire's `describeBreakerConfig`), each typed as the script reads
 * it: numbers and flags as JSON numbers and booleans, for `--json` consumers, not the strings the
 * script stores.
 */
export function breakerSettings(values: BreakerConfigValues): BreakerSettingsView {
  const shown = describeBreakerConfig(values);
  return Object.fromEntries(Object.entries(shown).map(([k, v]) => [k, typed(TYPE_OF_SHOWN.get(k), v)]));
}

/** `k=v` for a setting in `status`'s text; undefined for one left at its off value (0 or empty). */
export function settingText(key: string, value: SettingValue): string | undefined {
  if (value === 0 || value === '') return undefined;
  return `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`;
}
