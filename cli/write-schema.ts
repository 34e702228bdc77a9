/**
 * `npm run schema`: writes schemas/pipeline.schema.json from the node kinds' definitions. A test checks
 * that the committed file equals `editorSchemaText`, so the editor schema never drifts from the code.
 */
import { writeFileSync } from 'node:fs';
import { builtinKinds } from '../nodes/index.js';
import { KindRegistry } from '../engine/registry.js';
import { editorSchemaText } from '../engine/lang/schema.js';

writeFileSync(new URL('../../schemas/pipeline.schema.json', import.meta.url), editorSchemaText(new KindRegistry(builtinKinds)));
