// The one module that loads onnxruntime-node. Everything else imports onnxruntime from here
// (types may come from 'onnxruntime-node' with `import type`), so telemetry is switched off
// before the native binding first loads: onnxruntime 1.30 otherwise reads the machine id, queues
// usage events in ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and leaves a mat-debug-<pid>.log
// in the temp folder. The bundled entry points also set the variable in their first line.
process.env.ORT_DISABLE_TELEMETRY = '1';
// `import = require` stays in place when compiled or bundled; an ES import would be hoisted above
// the assignment.
import ort = require('onnxruntime-node');
export = ort;
