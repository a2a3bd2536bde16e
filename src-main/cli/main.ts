/** Entry of the built `atelier` command (out/main/cli.js). */
import { runCli } from './commands';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
