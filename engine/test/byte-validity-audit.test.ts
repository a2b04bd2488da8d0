// The byte layer's exactness suites again, with every validity decision taken from the merge
// ranks checked against re-encoding (RowValidity.audit throws on the first difference): the fast
// test agrees with re-encoding on every (row, token) pair these suites touch.
import { RowValidity } from '../src/byte/validity';

RowValidity.audit = true;
require('./byte-covers.test');
require('./ensemble-stream.test');
require('./byte-midtoken.test');
