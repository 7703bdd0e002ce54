/**
 * docs/configuration.md, written from the variable definitions: `npm run docs:config`
 * regenerates it, and a unit test fails when the committed page differs from this output.
 */
import { CONFIG_SECTIONS } from './config.js';
import { SERVICES } from './variable.js';
import type { Section, Variable } from './variable.js';

/** Where the page lives, from the repository root. */
export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';
export const CONFIG_REFERENCE_COMMAND = 'npm run docs:config';

const INTRO = [
  '# Configuration',
  '',
  'Every setting is an environment variable, read once at start by `src/shared/config/`; no other module reads the environment.',
  'A blank value counts as unset. A malformed value stops the command before it starts, with one line naming the variable',
  '(exit code 2).',
  '',
  '**Services** says which commands a variable affects: `producer`, `consumer` and `exporter` are the container commands;',
  '`run` is `batchinfer run` (the producer side in-process, plus the consumers it starts, which inherit its environment);',
  '`client` is `batchinfer submit` and `batchinfer status`.',
];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

/** A table cell: pipes escaped, on one line. */
const cell = (markdown: string): string => markdown.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function description(variable: Variable<unknown>): string {
  const sentence = variable.doc.endsWith('.') ? variable.doc : `${variable.doc}.`;
  return variable.accepts === undefined ? sentence : `${sentence} Accepts ${variable.accepts}.`;
}

/** Services in their canonical order, whatever order the definition lists them in. */
const services = (variable: Variable<unknown>): string => SERVICES.filter((s) => variable.services.includes(s)).join(', ');

function renderSection(section: Section): string[] {
  const lines = [
    `## ${section.title}`,
    '',
    section.about,
    '',
    '| Variable | Default | Services | Description |',
    '| --- | --- | --- | --- |',
  ];
  for (const v of section.variables) {
    lines.push(`| \`${v.name}\` | ${cell(v.shownDefault)} | ${services(v)} | ${cell(description(v))} |`);
  }
  const notes = section.variables.filter((v) => v.note !== undefined);
  if (notes.length > 0) {
    lines.push('');
    for (const v of notes) lines.push(`- \`${v.name}\`: ${v.note ?? ''}`);
  }
  lines.push('');
  return lines;
}

/** The whole page, as committed in {@link CONFIG_REFERENCE_PATH}. */
export function renderConfigReference(sections: readonly Section[] = CONFIG_SECTIONS): string {
  const header = `<!-- Generated from src/shared/config/*-variables.ts by \`${CONFIG_REFERENCE_COMMAND}\`: edit the definitions, not this file. -->`;
  const contents = sections.map((s) => `- [${s.title}](#${anchor(s.title)})`);
  return [header, '', ...INTRO, '', ...contents, '', ...sections.flatMap(renderSection)].join('\n');
}
