// What each command accepts, checked before it does anything: an unknown
// option, a missing or an extra argument is an error whose message ends with
// the command's usage; -h or --help prints that usage.
import { CliError, type ParsedArgs } from './output.ts';

export interface ArgSpec {
  /** Positional arguments (after the action, if any), by name; all required. */
  positional?: string[];
  /** Options without a value, such as json for --json. */
  flags?: string[];
  /** Options that take a value: --name VALUE or --name=VALUE. */
  valueFlags?: string[];
  /** Of valueFlags, those that must be given. */
  required?: string[];
}

const invalid = (problem: string, usage: string) => new CliError('invalid_arguments', `${problem}\n${usage}`);

function checkHelp(args: ParsedArgs, usage: string): void {
  if (args.flags.has('help') || args.positional.includes('-h')) throw new CliError('help', usage, 0);
}

function checkOptions(args: ParsedArgs, usage: string, spec: ArgSpec, where = ''): void {
  const flags = spec.flags ?? [];
  const valueFlags = spec.valueFlags ?? [];
  for (const [name, value] of args.flags) {
    if (valueFlags.includes(name)) {
      if (value === true) throw invalid(`--${name} needs a value.`, usage);
    } else if (flags.includes(name)) {
      if (value !== true) throw invalid(`--${name} takes no value.`, usage);
    } else throw invalid(`Unknown option --${name}${where}.`, usage);
  }
  const dashed = args.positional.find((arg) => arg.startsWith('-') && arg !== '-');
  if (dashed !== undefined) throw invalid(`Unknown option ${dashed}${where}.`, usage);
}

/** The positional arguments, then the options that must be given. */
function checkRequired(args: ParsedArgs, usage: string, spec: ArgSpec): void {
  const names = spec.positional ?? [];
  if (args.positional.length < names.length) throw invalid(`Missing ${names[args.positional.length]}.`, usage);
  if (args.positional.length > names.length) throw invalid(`Unexpected argument "${args.positional[names.length]}".`, usage);
  const missing = (spec.required ?? []).find((name) => !args.flags.has(name));
  if (missing !== undefined) throw invalid(`Missing --${missing}.`, usage);
}

/** A command without actions (`strata expire [--json]`). */
export function checkArgs(args: ParsedArgs, usage: string, spec: ArgSpec): void {
  checkHelp(args, usage);
  checkOptions(args, usage, spec);
  checkRequired(args, usage, spec);
}

/** A command whose first argument names an action (`strata archive status`); returns the action. */
export function checkAction<Action extends string>(args: ParsedArgs, usage: string, actions: Record<Action, ArgSpec>): Action {
  checkHelp(args, usage);
  const specs = Object.values<ArgSpec>(actions);
  // An option no action knows is named first, before a missing action.
  checkOptions(args, usage, {
    flags: specs.flatMap((spec) => spec.flags ?? []),
    valueFlags: specs.flatMap((spec) => spec.valueFlags ?? []),
  });
  const [action, ...rest] = args.positional;
  if (action === undefined) throw invalid(`Missing the action (${Object.keys(actions).join(', ')}).`, usage);
  if (!Object.hasOwn(actions, action)) throw invalid(`Unknown action "${action}".`, usage);
  const spec = actions[action as Action];
  checkOptions({ positional: rest, flags: args.flags }, usage, spec, ` for "${action}"`);
  checkRequired({ positional: rest, flags: args.flags }, usage, spec);
  return action as Action;
}
