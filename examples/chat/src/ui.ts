// Small DOM helpers and the one place errors become text for the user.
import { isStrataError } from '@strata/client';
import { isAuthError } from '@supabase/supabase-js';

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no element #${id}.`);
  return element as T;
}

type Props = Record<string, string | boolean | undefined | ((event: Event) => void)>;

/** An element with attributes (`on…` are listeners, `false`/`undefined` are left out) and children. */
export function h(tag: string, props: Props = {}, ...children: Array<Node | string | null | undefined | false>): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

/** What went wrong, in words: Strata's code and HTTP status, Auth's message, or the error's own. */
export function describeError(error: unknown): string {
  if (isStrataError(error)) {
    return error.status === 0
      ? `Could not reach Strata: ${error.message}`
      : `${error.message} (${error.code}, HTTP ${error.status})`;
  }
  if (isAuthError(error)) return error.code ? `${error.message} (${error.code})` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function showError(error: unknown): void {
  const box = byId('error');
  box.textContent = describeError(error);
  box.hidden = false;
}

export function clearError(): void {
  const box = byId('error');
  box.textContent = '';
  box.hidden = true;
}

/**
 * Runs an action for the user: clears the last error, disables the control
 * while it runs, and shows what failed instead of throwing.
 */
export async function act(control: HTMLButtonElement | null, action: () => Promise<void>): Promise<void> {
  clearError();
  if (control) control.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    if (control) control.disabled = false;
  }
}

export const clock = () => new Date().toLocaleTimeString();
