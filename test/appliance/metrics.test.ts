import type { BootEvent } from '../../src/model/events.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PxedMetrics } from '../../src/appliance/metrics.js';

const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
};

void describe('PxedMetrics', () => {
  void it('counts DHCP packets by type, arch and result with bounded label values', async () => {
    const m = new PxedMetrics({ processMetrics: false });
    m.dhcp.packet('proxy offer', 1, 7);
    m.dhcp.packet('proxy offer', 1, 7);
    m.dhcp.packet('boot server ack', 3, 0);
    m.dhcp.packet('ignored', 1, null);
    m.dhcp.packet('malformed', null, null);
    m.dhcp.packet('proxy offer', 99, 4242);
    const { body } = await m.render();
    assert.equal(value(body, 'pxed_dhcp_packets_total{type="discover",arch="7",result="proxy_offer"}'), 2);
    assert.equal(value(body, 'pxed_dhcp_packets_total{type="request",arch="0",result="boot_server_ack"}'), 1);
    assert.equal(value(body, 'pxed_dhcp_packets_total{type="discover",arch="none",result="ignored"}'), 1);
    assert.equal(value(body, 'pxed_dhcp_packets_total{type="none",arch="none",result="malformed"}'), 1);
    assert.equal(value(body, 'pxed_dhcp_packets_total{type="other",arch="other",result="proxy_offer"}'), 1);
  });

  void it('counts TFTP transfers, bytes, retransmits and their duration', async () => {
    const m = new PxedMetrics({ processMetrics: false });
    m.tftp.transfer('complete', 1000, 2, 300);
    m.tftp.transfer('refused', 0, 0, 0);
    const { body } = await m.render();
    assert.equal(value(body, 'pxed_tftp_transfers_total{outcome="complete"}'), 1);
    assert.equal(value(body, 'pxed_tftp_transfers_total{outcome="refused"}'), 1);
    assert.equal(value(body, 'pxed_tftp_bytes_total'), 1000);
    assert.equal(value(body, 'pxed_tftp_retransmits_total'), 2);
    assert.equal(value(body, 'pxed_tftp_transfer_duration_seconds_bucket{le="0.5"}'), 1);
    assert.equal(value(body, 'pxed_tftp_transfer_duration_seconds_count'), 1);
  });

  void it('derives install duration (booting -> installed), watchdog firings and machines by state from the registry', async () => {
    const m = new PxedMetrics({ processMetrics: false });
    const ev = (id: number, mac: string, time: string, to: string) => ({ id, mac, time, kind: 'state', detail: { to } }) as unknown as BootEvent;
    m.onEvent(ev(1, 'aa:bb:cc:dd:ee:01', '2026-12-03T01:00:00.000Z', 'booting'));
    m.onEvent(ev(2, 'aa:bb:cc:dd:ee:01', '2026-12-03T01:10:00.000Z', 'installed'));
    m.onEvent(ev(3, 'aa:bb:cc:dd:ee:02', '2026-12-03T01:00:00.000Z', 'installed')); // never armed: not observed
    m.onEvent(ev(4, 'aa:bb:cc:dd:ee:03', '2026-12-03T01:00:00.000Z', 'stalled'));
    m.onEvent({ id: 5, mac: 'aa:bb:cc:dd:ee:03', time: '2026-12-03T01:00:00.000Z', kind: 'tftp', detail: {} } as unknown as BootEvent);
    m.machinesFrom(() => ({ installed: 2, stalled: 1 }));
    const { body, contentType } = await m.render();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(value(body, 'pxed_install_duration_seconds_sum'), 600);
    assert.equal(value(body, 'pxed_install_duration_seconds_count'), 1);
    assert.equal(value(body, 'pxed_watchdog_firings_total'), 1);
    assert.equal(value(body, 'pxed_machines{state="installed"}'), 2);
    assert.equal(value(body, 'pxed_machines{state="booting"}'), 0);
    m.machinesFrom(() => {
      throw new Error('registry closed');
    });
    assert.doesNotMatch((await m.render()).body, /^pxed_machines\{/m);
  });

  void it('exposes process and event-loop metrics', async () => {
    const { body } = await new PxedMetrics().render();
    assert.match(body, /^process_resident_memory_bytes \d+/m);
    assert.match(body, /^nodejs_eventloop_lag_seconds [\d.e-]+$/m);
  });
});
