/**
 * The documentation a person reads, as the docs tests see it: README.md, every page of docs/
 * (the generated API reference in docs/api/ aside) and each package's README; and how GitHub
 * renders the parts they check (fenced code, headings and their anchors).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/redis-harness.js';

/** Paths relative to the repository's root, sorted. */
export function markdownFiles(): string[] {
  const files = ['README.md'];
  for (const dir of ['docs', 'packages']) {
    let entries: string[];
    try {
      entries = readdirSync(path.join(REPO_ROOT, dir), { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.endsWith('.md') || entry.includes('node_modules') || entry.includes('CHANGELOG')) continue;
      if (dir === 'docs' && entry.startsWith(`api${path.sep}`)) continue;
      if (dir === 'packages' && !/^[^/]+\/README\.md$/.test(entry)) continue;
      files.push(path.join(dir, entry));
    }
  }
  return files.sort();
}

export function readMarkdown(file: string): string {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8');
}

/** The text with every fenced code block blanked out (its lines kept, so line numbers still hold). */
export function withoutCodeBlocks(text: string): string {
  return text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ''));
}

/**
 * GitHub's anchor for a heading (github-slugger): the heading's text as rendered (inline code,
 * links and emphasis reduced to their text), lower-cased, without punctuation other than `-` and
 * `_`, each space a `-`; a repeated heading gets `-1`, `-2`, ...
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutCodeBlocks(text).matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/gm)) {
    const rendered = (match[1] ?? '')
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[`*]/g, '');
    const base = rendered
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}
