/**
 * How values become text in the shared tier. `undefined` never reaches a serializer (the entry
 * format marks it), so `null` and `undefined` stay distinct with any serializer.
 */
export interface Serializer<T> {
  serialize(value: T): string;
  deserialize(text: string): T;
}

/**
 * JSON: what survives `JSON.stringify` comes back (a Date comes back as its ISO string, a Map as
 * `{}`); use another serializer (superjson, devalue...) for richer values.
 */
export const JSON_SERIALIZER: Serializer<unknown> = Object.freeze({
  serialize: (value: unknown) => JSON.stringify(value),
  deserialize: (text: string) => JSON.parse(text) as unknown,
});
