/**
 * Making elements. Text only ever becomes a text node, never markup: nothing here parses
 * HTML, no attribute can hold script (`on*` handlers are refused), and
 * test/web-page.test.ts checks that no file of the page, nor the bundle, has an HTML sink.
 * @module
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  /** Class names, space-separated. */
  class?: string;
  /** Attributes, set as given (aria-*, type, name, ...); false or undefined leaves one out. */
  attrs?: Record<string, string | boolean | undefined>;
  /** Event listeners. */
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

/** An element with its attributes, listeners and children (strings as text). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(name)) throw new Error(`no script in attributes: ${name}`);
    if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  for (const [type, listener] of Object.entries(props.on ?? {}))
    element.addEventListener(type, listener as EventListener);
  append(element, ...children);
  return element;
}

/** Appends children, strings as text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Text only a screen reader reads. */
export function hiddenText(text: string): HTMLSpanElement {
  return el('span', { class: 'visually-hidden' }, text);
}
