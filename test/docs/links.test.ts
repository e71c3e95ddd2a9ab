/**
 * Every relative link of the documentation (README.md, docs/, each package's README) leads
 * somewhere: to a file or folder of the repository, and, with a `#anchor`, to a heading of the
 * page it names (as GitHub makes anchors). Links to other sites are not fetched.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/redis-harness.js';
import { headingAnchors, markdownFiles, readMarkdown, withoutCodeBlocks } from './markdown.js';

interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/** Inline links and images `[text](target "title")`, and reference definitions `[id]: target`. */
function linksOf(file: string): Link[] {
  // Inline code may hold brackets and parentheses that are not links.
  const text = withoutCodeBlocks(readMarkdown(file)).replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
  const links: Link[] = [];
  const patterns = [
    /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
    /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      const line = text.slice(0, match.index).split('\n').length;
      links.push({ file, line, target: match[1] ?? '' });
    }
  }
  return links;
}

/** Why `link` leads nowhere, or undefined when it leads somewhere. */
function problemOf(link: Link, anchorsOf: (file: string) => Set<string>): string | undefined {
  const { target } = link;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved =
    pathPart === ''
      ? link.file
      : path.relative(REPO_ROOT, path.resolve(REPO_ROOT, path.dirname(link.file), pathPart));
  if (resolved.startsWith('..')) return `${target}: outside the repository`;
  const absolute = path.join(REPO_ROOT, resolved);
  if (!existsSync(absolute)) return `${target}: no such file or folder (${resolved})`;
  if (anchor === undefined) return undefined;
  if (statSync(absolute).isDirectory() || !resolved.endsWith('.md')) {
    return `${target}: an anchor into something that is not a markdown page`;
  }
  return anchorsOf(resolved).has(anchor) ? undefined : `${target}: no heading '#${anchor}' in ${resolved}`;
}

describe('documentation links', () => {
  it('every relative link and anchor of README.md, docs/ and the packages leads to what it names', () => {
    const files = markdownFiles();
    const links = files.flatMap(linksOf);
    expect(links.length).toBeGreaterThan(50);
    const anchors = new Map<string, Set<string>>();
    const anchorsOf = (file: string) => {
      let set = anchors.get(file);
      if (set === undefined) {
        set = headingAnchors(readMarkdown(file));
        anchors.set(file, set);
      }
      return set;
    };
    const problems = links.flatMap((link) => {
      const problem = problemOf(link, anchorsOf);
      return problem === undefined ? [] : [`${link.file}:${link.line}: ${problem}`];
    });
    expect(problems).toEqual([]);
  });

  it('makes anchors as GitHub does', () => {
    const page = [
      '# Breakwater',
      '## Why Breakwater',
      "## The breaker's document",
      '## The wire subpath: `@breakwater/store-redis/wire`',
      '### Diagnostics: `recentEvents(source, capacity = 100)`',
      '## [Linked](x.md) *title*',
      '## Options',
      '## Options',
      '```sh',
      '# a comment, not a heading',
      '```',
    ].join('\n');
    expect([...headingAnchors(page)]).toEqual([
      'breakwater',
      'why-breakwater',
      'the-breakers-document',
      'the-wire-subpath-breakwaterstore-rediswire',
      'diagnostics-recenteventssource-capacity--100',
      'linked-title',
      'options',
      'options-1',
    ]);
  });
});
