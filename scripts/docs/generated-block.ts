/**
 * The generated part of a hand-written Markdown page: everything between the two marker comments is
 * `npm run docs`'s, everything around it is the author's.
 */
export const BEGIN_GENERATED = '<!-- generated: npm run docs -->'
export const END_GENERATED = '<!-- end generated -->'

/**
 * `page` with the text between its markers replaced by `block`. Throws when the markers are missing, so a
 * page whose markers were deleted by hand is noticed rather than silently left stale.
 *
 * @example
 * replaceGenerated('a\n<!-- generated: npm run docs -->\nold\n<!-- end generated -->\nb', 'new')
 * // 'a\n<!-- generated: npm run docs -->\nnew\n<!-- end generated -->\nb'
 */
export function replaceGenerated(page: string, block: string, name = 'the page'): string {
  const begin = page.indexOf(BEGIN_GENERATED)
  const end = page.indexOf(END_GENERATED)
  if (begin < 0 || end < begin)
    throw new Error(
      `${name} needs the lines "${BEGIN_GENERATED}" and "${END_GENERATED}" around its generated part`,
    )
  return `${page.slice(0, begin + BEGIN_GENERATED.length)}\n${block.trim()}\n${page.slice(end)}`
}

/** Text for a Markdown table cell: one line, pipes escaped, `<` outside code spans not taken for HTML. */
export function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replaceAll('|', '\\|')
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replaceAll('<', '&lt;') : part))
    .join('`')
}
