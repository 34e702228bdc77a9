/**
 * The hand-written cases: every `cases/NAME.yaml` is a pipeline whose leading comment says what the CLI
 * must answer, so that a case reads as one file:
 *
 *   # family: prototype
 *   # why: a param reference that names Object.prototype's constructor
 *   # exit: 1            (or `0|1` where accepting and refusing are both right)
 *   # at: 9:23           (LINE:COL in this file, or lib/FILE.yaml:LINE:COL; alternatives joined by |)
 *   # says: unknown param    (a regular expression, case-insensitive)
 *   # args: --set a=1    (arguments after the file, split on spaces)
 *   # commands: validate plan
 *   # accepted: instances=2 distinct-keys param=init:seed=5   (init*: its first instance)
 *
 * Files under cases/lib/ are only imported by the cases; the whole folder is copied beside each case.
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAMILIES, PIPELINE_COMMANDS, type Accepted, type Exit, type Family, type HostileCase, type PipelineCommand } from './case.js';
import { repoRoot } from './spawn.js';

export const casesDir = join(repoRoot, 'test/hostile/cases');

function header(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const field = /^#\s*([a-z-]+):\s?(.*)$/.exec(line);
    if (field) fields.set(field[1]!, field[2]!.trim());
  }
  return fields;
}

function accepted(text: string): Accepted {
  const params: { id: string; name: string; value: unknown }[] = [];
  let instances: number | undefined;
  let distinctKeys = false;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (word === 'distinct-keys') distinctKeys = true;
    else if (word.startsWith('instances=')) instances = Number(word.slice('instances='.length));
    else if (word.startsWith('param=')) {
      const [id, rest] = word.slice('param='.length).split(/:(.*)/s) as [string, string];
      const eq = rest.indexOf('=');
      params.push({ id, name: rest.slice(0, eq), value: JSON.parse(rest.slice(eq + 1)) });
    } else throw new Error(`accepted: cannot read '${word}'`);
  }
  return { ...(instances === undefined ? {} : { instances }), distinctKeys, params };
}

export function staticCases(): HostileCase[] {
  const files = readdirSync(casesDir).filter((f) => f.endsWith('.yaml')).sort();
  return files.map((f): HostileCase => {
    const name = f.slice(0, -'.yaml'.length);
    const fields = header(readFileSync(join(casesDir, f), 'utf8'));
    const need = (key: string) => {
      const v = fields.get(key);
      if (v === undefined) throw new Error(`${f}: its header has no '${key}:'`);
      return v;
    };
    const family = need('family') as Family;
    if (!FAMILIES.includes(family)) throw new Error(`${f}: unknown family '${family}'`);
    const exit = need('exit').split('|').map(Number) as Exit[];
    const commands = fields.get('commands')?.split(/\s+/) as PipelineCommand[] | undefined;
    for (const cmd of commands ?? []) if (!PIPELINE_COMMANDS.includes(cmd)) throw new Error(`${f}: unknown command '${cmd}'`);
    const says = fields.get('says');
    const at = fields.get('at');
    const args = fields.get('args');
    const acc = fields.get('accepted');
    return {
      name,
      family,
      why: need('why'),
      file: f,
      setup: (dir) => {
        cpSync(join(casesDir, f), join(dir, f));
        cpSync(join(casesDir, 'lib'), join(dir, 'lib'), { recursive: true });
      },
      exit: exit.length === 1 ? exit[0]! : exit,
      ...(at ? { at } : {}),
      ...(says ? { says: new RegExp(says, 'i') } : {}),
      ...(args ? { args: args.split(/\s+/) } : {}),
      ...(commands ? { commands } : {}),
      ...(acc ? { accepted: accepted(acc) } : {}),
    };
  });
}
