// The build step tsc cannot do: ship the Lua scripts beside the compiled code.
import { cpSync } from 'node:fs';

cpSync('src/core/scripts', 'dist/core/scripts', { recursive: true });
