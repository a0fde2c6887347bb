// The committed resolver types must be what GraphQL Code Generator makes of the current schema.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { generate, loadCodegenConfig } from '@graphql-codegen/cli';
import type { Types } from '@graphql-codegen/plugin-helpers';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUTPUT = 'resolvers/__generated__/types.ts';

describe('generated resolver types', () => {
  it(`${OUTPUT} is up to date with schema/*.graphql`, async () => {
    // The same loader `graphql-codegen --config codegen.yml` uses (it parses the YAML with the `yaml` package).
    const loaded = await loadCodegenConfig({ configFilePath: path.join(root, 'codegen.yml') });
    expect(Object.keys(loaded.config.generates)).toEqual([OUTPUT]);

    // saveToFile = false: returns the outputs, writes nothing.
    const outputs = (await generate({ ...loaded.config, cwd: root, silent: true }, false)) as Types.FileOutput[];
    const generated = outputs.find((output) => path.resolve(root, output.filename) === path.join(root, OUTPUT));
    expect(generated, `codegen produced no ${OUTPUT}`).toBeDefined();

    const onDisk = await readFile(path.join(root, OUTPUT), 'utf8');
    // The message says what to do; the diff shows what changed.
    expect(onDisk, `${OUTPUT} is stale: run npm run codegen`).toBe(generated!.content);
  });
});
