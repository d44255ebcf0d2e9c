/** Text placed in HTML (the unit and batch reports): the five characters that could end a tag or an attribute, escaped. */
export const escapeHtml = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
