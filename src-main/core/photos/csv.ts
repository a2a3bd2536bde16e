/**
 * Classify's results as CSV, for spreadsheets and scripts: one writer shared by the Classify view
 * (which makes the file in the page) and `atelier classify --csv`. No Node imports, so the renderer
 * can bundle it (it is listed in tsconfig.web.json).
 *
 * RFC 4180: a header row, CRLF between records, a field with a comma, a double quote, CR or LF
 * inside quotes with its quotes doubled. The text is plain UTF-8 without a byte-order mark: a BOM
 * would become part of the first header for most CSV readers outside spreadsheets.
 */
import type { PhotoResult } from '../../contract';
import { CLASS_NAMES } from '../fashion-mnist';

/** Decimals of every confidence and probability: fixed, so that columns line up and diff cleanly. */
export const CSV_DECIMALS = 6;

const NEEDS_QUOTES = /[",\r\n]/;

/** One field as RFC 4180 writes it: quoted (quotes doubled) only when it has to be. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Records as RFC 4180 text, every record ended by CRLF. */
export function formatCsv(records: readonly (readonly string[])[]): string {
  return records.map((record) => `${record.map(csvField).join(',')}\r\n`).join('');
}

/**
 * Text a spreadsheet might run as a formula (CSV injection): a cell starting with =, +, - or @
 * (or a tab or CR, which some spreadsheets skip before looking) is a formula to Excel, LibreOffice
 * and Google Sheets, so a photo named "=HYPERLINK(...).jpg" could act when the file is opened.
 * A leading apostrophe makes it text; the apostrophe is then part of the field for other readers.
 */
export function spreadsheetSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** What names a result's file in the CSV: its full path when it came from disk, else the name as dropped. */
export function csvFileName(result: PhotoResult): string {
  return result.path ?? result.name;
}

/** The header row: file, class, confidence, not sure, one probability column per class, error. */
export function photoCsvHeader(classNames: readonly string[] = CLASS_NAMES): string[] {
  return ['file', 'class', 'confidence', 'not sure', ...classNames, 'error'];
}

/** One result's fields, in the header's order; a photo that could not be classified has only its file and error. */
export function photoCsvRecord(result: PhotoResult, classNames: readonly string[] = CLASS_NAMES): string[] {
  const file = spreadsheetSafe(csvFileName(result));
  if (!result.ok) return [file, '', '', '', ...classNames.map(() => ''), spreadsheetSafe(`${result.error.kind}: ${result.error.message}`)];
  return [
    file,
    result.className,
    result.confidence.toFixed(CSV_DECIMALS),
    result.notSure ? 'true' : 'false',
    ...classNames.map((_, index) => result.probabilities[index]?.toFixed(CSV_DECIMALS) ?? ''),
    '',
  ];
}

/** The whole file: the header, then one row per result in the order given (errors included). */
export function photoResultsCsv(results: readonly PhotoResult[], classNames: readonly string[] = CLASS_NAMES): string {
  return formatCsv([photoCsvHeader(classNames), ...results.map((result) => photoCsvRecord(result, classNames))]);
}
