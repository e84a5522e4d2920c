// The protobufjs runtime the generated profile.js imports (generate.mjs points
// it here). int64 fields decode as plain numbers: Go's ids and counts stay far
// below 2^53, and Long objects cost an allocation per field. This must happen
// before profile.js evaluates, because it bakes defaults in at load time.
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined;
$protobuf.configure();

export default $protobuf;
