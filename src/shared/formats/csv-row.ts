/**
 * One CSV row (RFC 4180) into its fields: commas separate, double quotes enclose fields
 * that contain commas, quotes or newlines, and `""` inside quotes is one quote. Returns
 * undefined for a row whose quotes do not close or are followed by stray text.
 */
export function parseCsvRow(row: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  const n = row.length;
  for (;;) {
    if (row.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = row.indexOf('"', j);
        if (q === -1) return undefined;
        value += row.slice(j, q);
        if (row.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (row.charCodeAt(i) !== 44 /* , */) return undefined;
      i++;
    } else {
      const comma = row.indexOf(',', i);
      const end = comma === -1 ? n : comma;
      const value = row.slice(i, end);
      if (value.includes('"')) return undefined;
      fields.push(value);
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}
