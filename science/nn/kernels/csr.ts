/**
 * A masked weight matrix [out, in] kept as its nonzero pattern: CSR by output rows for the forward pass
 * and the weight gradient, and the pattern's transpose (CSC) pointing back into the same value array for
 * the input gradient. The pattern is the mask's; the values are the kept weights in row order.
 */
export interface SparseRows {
  /** row o's kept entries are rowPtr[o]..rowPtr[o+1]-1. */
  readonly rowPtr: Int32Array;
  /** Input index of each kept entry. */
  readonly col: Int32Array;
  /** Kept weights, row order (updated in place by training). */
  readonly val: Float32Array;
  /** Column k's entries are colPtr[k]..colPtr[k+1]-1 of `row` and `perm`. */
  readonly colPtr: Int32Array;
  readonly row: Int32Array;
  /** Position in `val` of each column-order entry. */
  readonly perm: Int32Array;
}

/** The pattern of `mask` [out, in] with the values of `dense` at its kept positions. */
export function sparseRows(dense: Float32Array, mask: Uint8Array, out: number, inputs: number): SparseRows {
  let nnz = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) nnz++;
  const rowPtr = new Int32Array(out + 1);
  const col = new Int32Array(nnz);
  const val = new Float32Array(nnz);
  const colCount = new Int32Array(inputs + 1);
  let j = 0;
  for (let o = 0; o < out; o++) {
    rowPtr[o] = j;
    for (let k = 0; k < inputs; k++) {
      const at = o * inputs + k;
      if (!mask[at]) continue;
      col[j] = k;
      val[j] = dense[at]!;
      colCount[k + 1]!++;
      j++;
    }
  }
  rowPtr[out] = j;
  const colPtr = new Int32Array(inputs + 1);
  for (let k = 0; k < inputs; k++) colPtr[k + 1] = colPtr[k]! + colCount[k + 1]!;
  const next = colPtr.slice(0, inputs);
  const row = new Int32Array(nnz);
  const perm = new Int32Array(nnz);
  // Rows in increasing order, so each column's entries are sorted by row: a fixed summation order.
  for (let o = 0; o < out; o++) {
    for (let e = rowPtr[o]!; e < rowPtr[o + 1]!; e++) {
      const at = next[col[e]!]!++;
      row[at] = o;
      perm[at] = e;
    }
  }
  return { rowPtr, col, val, colPtr, row, perm };
}

/** `values` (one per kept entry, row order) scattered into a dense [out, in] array, +0 elsewhere. */
export function densify(w: SparseRows, values: Float32Array, out: number, inputs: number): Float32Array {
  const dense = new Float32Array(out * inputs);
  for (let o = 0; o < out; o++) for (let e = w.rowPtr[o]!; e < w.rowPtr[o + 1]!; e++) dense[o * inputs + w.col[e]!] = values[e]!;
  return dense;
}

/** The kept entries of `dense` at `w`'s pattern, row order (momentum carried into the sparse format). */
export function gatherKept(w: SparseRows, dense: Float32Array, inputs: number): Float32Array {
  const out = new Float32Array(w.val.length);
  for (let o = 0; o + 1 < w.rowPtr.length; o++) for (let e = w.rowPtr[o]!; e < w.rowPtr[o + 1]!; e++) out[e] = dense[o * inputs + w.col[e]!]!;
  return out;
}
