// No link in the repository points outside it or to nothing: every relative link and path in the
// Markdown files, and every repository path named in a source comment, resolves to a file or folder here.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import t, { type Test } from 'tap';
import ts from 'typescript';
import { packageRoot } from '../../../src/config/load-config.js';

const ROOT = packageRoot();
/** Not the repository's own text: installed, built, generated at run time, or version control. */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'data', '.git', '.tap', 'tmp']);
/** Top-level folders a path in prose or a comment may start with (repository-rooted paths). */
const TOP_FOLDERS = ['src', 'actors', 'supervisors', 'test', 'bench', 'docs', 'config', 'scripts', 'deploy', 'pages', '.ci'];
const CODE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

interface Reference {
  file: string;
  line: number;
  target: string;
  /** How the target is resolved: against the file's folder, the repository's root, or as a file name found anywhere. */
  base: 'file' | 'root' | 'bare';
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (SKIP_DIRS.has(entry.name) || (entry.name.startsWith('.') && entry.name !== '.ci')) continue;
      walk(join(dir, entry.name), out);
    } else if (entry.isFile()) {
      out.push(join(dir, entry.name));
    }
  }
  return out;
}

const FILES = walk(ROOT);
const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;
const rel = (file: string) => relative(ROOT, file);

// ---- what counts as a path in free text (prose, inline code, comments)

const TOP = TOP_FOLDERS.map((folder) => folder.replace('.', '\\.')).join('|');
/** Paths that start with one or more dot segments: relative to the file. */
const DOTTED_PATH = /(?<![\w./-])(?:\.\.?\/)+[\w.-]+(?:\/[\w.-]+)*\/?/g;
/** `docs/TUNING.md`, `src/ring/`: from the repository's root. A path that runs into a placeholder or a glob is checked up to its last whole folder. */
const ROOTED_PATH = new RegExp(`(?<![\\w./<>*-])(?:${TOP})\\/[\\w.-]*(?:\\/[\\w.-]+)*\\/?(?![\\w<>*{$])`, 'g');
/** `PROTOCOL.md`: a document named without its folder; it must exist somewhere in the repository. */
const BARE_DOC = /(?<![\w./-])[A-Z][A-Z0-9_-]*\.md\b/g;

function pathsInText(file: string, text: string, offset: number, whole: string): Reference[] {
  const found: Reference[] = [];
  const add = (target: string, index: number, base: Reference['base']) => {
    // A sentence's last full stop or comma is not part of the path.
    const trimmed = target.replace(/[.,:;]+$/, '');
    if (trimmed.length > 0) found.push({ file, line: lineAt(whole, offset + index), target: trimmed, base });
  };
  for (const match of text.matchAll(DOTTED_PATH)) add(match[0], match.index, 'file');
  for (const match of text.matchAll(ROOTED_PATH)) add(match[0], match.index, 'root');
  for (const match of text.matchAll(BARE_DOC)) add(match[0], match.index, 'bare');
  return found;
}

// ---- Markdown: links, images, reference definitions, HTML attributes, and paths in prose

const INLINE_LINK = /!?\[(?:[^\]\n]|\][^(\n])*?\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s|$)/gm;
const HTML_ATTRIBUTE = /\b(?:href|src)="([^"]+)"/g;
const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

/** The text with fenced code blocks blanked out (same length, so indices and lines stay right). */
function withoutFences(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

function markdownReferences(file: string): Reference[] {
  const whole = readFileSync(file, 'utf8');
  const text = withoutFences(whole);
  const refs: Reference[] = [];
  for (const pattern of [INLINE_LINK, REFERENCE_DEFINITION, HTML_ATTRIBUTE]) {
    for (const match of text.matchAll(pattern)) {
      const target = match[1]!;
      const at = match.index + match[0].indexOf(target);
      if (!EXTERNAL.test(target)) refs.push({ file, line: lineAt(whole, at), target, base: 'file' });
    }
  }
  // Paths written as text (in prose or `code`) are read from the repository's root, as the docs use them.
  const prose = text.replace(INLINE_LINK, (link) => link.replace(/\]\([^)]*\)$/, (tail) => ' '.repeat(tail.length)));
  for (const ref of pathsInText(file, prose, 0, whole)) refs.push(ref);
  return refs;
}

// ---- Source comments

function codeComments(file: string): Array<{ text: string; offset: number }> {
  const text = readFileSync(file, 'utf8');
  const kind = extname(file).endsWith('ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, kind);
  const seen = new Map<number, { text: string; offset: number }>();
  const take = (position: number) => {
    for (const range of ts.getLeadingCommentRanges(text, position) ?? []) seen.set(range.pos, { text: text.slice(range.pos, range.end), offset: range.pos });
  };
  // A comment is trivia before some node, or after the last node of its block (before the `}`).
  const visit = (node: ts.Node) => {
    take(node.pos);
    take(node.end);
    ts.forEachChild(node, visit);
  };
  visit(source);
  take(source.endOfFileToken.pos);
  return [...seen.values()];
}

function otherComments(file: string, text: string): Array<{ text: string; offset: number }> {
  const name = file.split(sep).pop()!;
  const patterns: RegExp[] = [];
  if (extname(file) === '.html') patterns.push(/<!--[\s\S]*?-->/g);
  if (extname(file) === '.css') patterns.push(/\/\*[\s\S]*?\*\//g);
  if (extname(file) === '.service' || extname(file) === '.sh' || name === 'run' || text.startsWith('#!/usr/bin/env bash')) patterns.push(/^[ \t]*#(?!!).*$/gm);
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => ({ text: match[0], offset: match.index })));
}

function commentReferences(file: string): Reference[] {
  const whole = readFileSync(file, 'utf8');
  const comments = CODE_EXTENSIONS.has(extname(file)) ? codeComments(file) : otherComments(file, whole);
  return comments.flatMap((comment) => pathsInText(file, comment.text, comment.offset, whole));
}

// ---- Resolution

/** GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces to `-`, repeats numbered. */
function anchorsOf(markdownFile: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const match of withoutFences(readFileSync(markdownFile, 'utf8')).matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/gm)) {
    const text = match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, '').replace(/ /g, '-');
    const seen = counts.get(slug) ?? 0;
    counts.set(slug, seen + 1);
    anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
  }
  return anchors;
}

/** Why the reference does not resolve, or null when it does. */
function problemWith(ref: Reference): string | null {
  let target = ref.target;
  let fragment: string | null = null;
  const hash = target.indexOf('#');
  if (hash >= 0) {
    fragment = target.slice(hash + 1);
    target = target.slice(0, hash);
  }
  target = target.split('?')[0]!;
  try {
    target = decodeURI(target);
  } catch {
    return 'is not valid percent-encoding';
  }
  let candidates: string[];
  if (target === '') candidates = [ref.file];
  // A document named without its folder (PROTOCOL.md means docs/PROTOCOL.md) must exist somewhere here.
  else if (ref.base === 'bare') candidates = FILES.filter((file) => file.endsWith(`${sep}${target}`));
  else if (ref.base === 'root' || target.startsWith('/')) candidates = [join(ROOT, target)];
  else candidates = [resolve(dirname(ref.file), target)];
  if (ref.base === 'bare' && candidates.length === 0) return `names ${target}, which is nowhere in the repository`;
  const outside = candidates.every((candidate) => relative(ROOT, candidate).startsWith('..'));
  if (outside) return 'points outside the repository';
  // Made at run time or by the build (the data folder, dist): there is nothing to find in a checkout.
  // A dotted path in prose is the reader's shell path (npm start's data folder), not a link.
  const ownFirst = target.replace(/^(?:\.\/)+/, '').split('/')[0]!;
  if (SKIP_DIRS.has(ownFirst) || candidates.some((candidate) => SKIP_DIRS.has(relative(ROOT, candidate).split(sep)[0]!))) return null;
  // A module may be named by the .js its import uses, and a test by its name without the extension.
  const withSources = candidates.flatMap((candidate) =>
    candidate.endsWith('.js') ? [candidate, candidate.replace(/\.js$/, '.ts')] : [candidate, ...['.ts', '.test.ts', '.bench.ts', '.scale.ts'].map((ext) => `${candidate}${ext}`)],
  );
  const found = withSources.find((candidate) => !relative(ROOT, candidate).startsWith('..') && existsSync(candidate));
  if (found === undefined) return `names ${target}, which does not exist`;
  if (fragment !== null && fragment !== '' && found.endsWith('.md') && statSync(found).isFile() && !anchorsOf(found).has(fragment)) {
    return `has no heading #${fragment} in ${rel(found)}`;
  }
  return null;
}

function check(t: Test, refs: Reference[]): void {
  const problems = new Set(
    refs.flatMap((ref) => {
      const problem = problemWith(ref);
      return problem === null ? [] : [`${rel(ref.file)}:${ref.line}: ${ref.target} ${problem}`];
    }),
  );
  t.same([...problems], [], `${refs.length} references checked`);
}

t.test('every relative link and path in the Markdown files resolves inside the repository', async (t) => {
  const markdown = FILES.filter((file) => file.endsWith('.md'));
  t.ok(markdown.some((file) => rel(file) === 'README.md'), 'the README is among the files scanned');
  check(t, markdown.flatMap(markdownReferences));
});

t.test('every repository path in a source comment resolves inside the repository', async (t) => {
  const sources = FILES.filter((file) => !file.endsWith('.md') && !file.endsWith('.json') && !file.endsWith('.png') && !rel(file).startsWith('docs'));
  check(t, sources.flatMap(commentReferences));
});

t.test('the scanner sees what it must', async (t) => {
  // A scanner that finds nothing passes everything: these references are known to be there.
  const readme = markdownReferences(join(ROOT, 'README.md')).map((ref) => ref.target);
  t.ok(readme.includes('docs/DEPLOYMENT.md'), 'a README link');
  const header = commentReferences(join(ROOT, 'src', 'auth', 'student-token.ts')).map((ref) => ref.target);
  t.ok(header.includes('docs/PROTOCOL.md'), 'a rooted document path in a comment');
  const pages = commentReferences(join(ROOT, 'actors', 'connection', 'student-pages.ts')).map((ref) => ref.target);
  t.ok(pages.includes('docs/PROTOCOL.md'), 'its header comment is read');
  t.notOk(pages.includes('pages/exam/index.html'), 'a path in a string of code is not a comment');
  t.equal(problemWith({ file: join(ROOT, 'README.md'), line: 1, target: ['..', 'shared', 'PROTOCOL.md'].join('/'), base: 'file' }), 'points outside the repository');
  t.match(problemWith({ file: join(ROOT, 'src', 'x.ts'), line: 1, target: 'docs/NOPE.md', base: 'root' }), /does not exist/);
  t.match(problemWith({ file: join(ROOT, 'README.md'), line: 1, target: 'docs/PROTOCOL.md#no-such-heading', base: 'file' }), /no heading/);
});
