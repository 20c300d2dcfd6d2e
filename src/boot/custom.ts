// `os: custom` (pixiecore-style): any kernel + initrd(s) + command line from the asset roots or a URL. The
// command line's placeholders are filled per boot; nothing else in it is interpreted.

import type { CustomBoot } from '../config/provisioning.js';
import { PxedError } from '../errors.js';
import type { InstallBoot, InstallContext } from './os-profile.js';

/** Fills {{ server }}, {{ http_port }}, {{ mac }}, {{ hostname }} and {{ phone_home_url }}. */
export function fillPlaceholders(cmdline: string, values: Readonly<Record<string, string>>): string {
  return cmdline.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) {
      throw new PxedError('BOOT_SCRIPT_INVALID', `unknown placeholder ${whole} in the custom command line`, {
        field: 'custom.cmdline',
        value: cmdline,
      });
    }
    return v;
  });
}

export function renderCustomInstall(custom: CustomBoot, ctx: InstallContext, server: string, httpPort: number): InstallBoot {
  const cmdline = fillPlaceholders(custom.cmdline, {
    server,
    http_port: String(httpPort),
    mac: ctx.mac,
    hostname: ctx.hostname,
    phone_home_url: ctx.phoneHomeUrl,
  });
  return { kernel: custom.kernel, initrds: [...custom.initrds], cmdline };
}
