// The command table. Each command lives in its own module and exports a `Command`.
import type { Command } from '../io.js';
import { configCommand } from './config.js';
import { doctorCommand } from './doctor.js';
import { eventsCommand } from './events.js';
import { machinesCommand } from './machines.js';
import { serveCommand } from './serve.js';
import { serviceCommand } from './service.js';
import { renderCommand } from './render.js';
import { provisionCommand } from './provision.js';
import { assetsCommand } from './assets.js';

export const commands: Command[] = [serveCommand, configCommand, machinesCommand, eventsCommand, renderCommand, provisionCommand, serviceCommand, doctorCommand, assetsCommand];
