/**
 * Test support (no test runs here): reading CSV back in the CSV writer's tests and the CLI's.
 */

/**
 * A small strict RFC 4180 reader, written apart from the writer so that the round trip checks
 * the writer against the RFC and not against itself: records end with CRLF, a quoted field may
 * hold anything with quotes doubled, an unquoted one may hold no quote, comma, CR or LF.
 */
export function readCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not RFC 4180 at ${i}: ${why} in ${JSON.stringify(text)}`);
  };
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) fail('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i += 1;
            break;
          }
        } else {
          field += text[i];
          i += 1;
        }
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') fail('quote or bare LF in an unquoted field');
        field += text[i];
        i += 1;
      }
    }
    record.push(field);
    if (text[i] === ',') {
      i += 1;
    } else if (text.startsWith('\r\n', i)) {
      i += 2;
      records.push(record);
      record = [];
    } else {
      fail('a field must end with a comma or CRLF');
    }
  }
  if (record.length) fail('the last record has no CRLF');
  return records;
}
