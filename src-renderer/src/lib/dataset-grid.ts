/**
 * The arithmetic of the virtualised image grid: which rows a scroll position shows, which pages
 * of images they need, where to scroll to reveal an image, and where the arrow keys lead.
 * Pure functions, so the view only binds them to the DOM.
 */

export interface GridSize {
  /** Inner width and height of the scrolling box, in CSS pixels. */
  width: number;
  height: number;
  scrollTop: number;
  /** Images in the (filtered) list. */
  total: number;
  cellWidth: number;
  cellHeight: number;
  gap: number;
  /** Extra rows drawn above and below the visible ones, so a small scroll shows no blank row. */
  overscanRows: number;
}

export interface GridWindow {
  columns: number;
  rows: number;
  /** Distance from one row's top to the next. */
  rowStride: number;
  /** Height of the whole list if every row were drawn. */
  contentHeight: number;
  /** Positions (in the list) of the first drawn image and one past the last. */
  first: number;
  last: number;
}

export function columnsFor(width: number, cellWidth: number, gap: number): number {
  return Math.max(1, Math.floor((width + gap) / (cellWidth + gap)));
}

/** The images to draw for this scroll position: only the visible rows, plus the overscan. */
export function gridWindow(size: GridSize): GridWindow {
  const columns = columnsFor(size.width, size.cellWidth, size.gap);
  const rows = Math.ceil(Math.max(0, size.total) / columns);
  const rowStride = size.cellHeight + size.gap;
  const contentHeight = rows === 0 ? 0 : rows * rowStride - size.gap;
  const firstRow = Math.max(0, Math.floor(size.scrollTop / rowStride) - size.overscanRows);
  const lastRow = Math.min(rows, Math.ceil((size.scrollTop + Math.max(0, size.height)) / rowStride) + size.overscanRows);
  const first = Math.min(size.total, firstRow * columns);
  const last = Math.min(size.total, Math.max(first, lastRow * columns));
  return { columns, rows, rowStride, contentHeight, first, last };
}

/** Page numbers (of `pageSize` images) that hold positions `first` to `last - 1`. */
export function pagesCovering(first: number, last: number, pageSize: number): number[] {
  if (last <= first) return [];
  const pages: number[] = [];
  for (let page = Math.floor(first / pageSize); page <= Math.floor((last - 1) / pageSize); page++) pages.push(page);
  return pages;
}

/** The smallest scroll change that shows the whole row of `position` (unchanged when it already shows). */
export function scrollToReveal(position: number, columns: number, rowStride: number, cellHeight: number, viewHeight: number, scrollTop: number): number {
  const top = Math.floor(position / Math.max(1, columns)) * rowStride;
  if (top < scrollTop) return top;
  if (top + cellHeight > scrollTop + viewHeight) return Math.max(0, top + cellHeight - viewHeight);
  return scrollTop;
}

/**
 * Where a key moves the active image in a grid of `columns`: arrows by one image or one row,
 * Page Up/Down by a screenful of rows, Home/End to the ends. Null for keys that do not move.
 */
export function moveByKey(key: string, position: number, columns: number, total: number, rowsPerPage: number): number | null {
  if (total <= 0) return null;
  const clamp = (value: number): number => Math.max(0, Math.min(total - 1, value));
  switch (key) {
    case 'ArrowLeft':
      return clamp(position - 1);
    case 'ArrowRight':
      return clamp(position + 1);
    case 'ArrowUp':
      return clamp(position - columns);
    case 'ArrowDown':
      return clamp(position + columns);
    case 'PageUp':
      return clamp(position - columns * Math.max(1, rowsPerPage));
    case 'PageDown':
      return clamp(position + columns * Math.max(1, rowsPerPage));
    case 'Home':
      return 0;
    case 'End':
      return total - 1;
    default:
      return null;
  }
}
