// Events: the event triggers per table (from export_metadata) with their pending and failed
// events (pg_get_event_logs), recent invocations (pg_get_event_invocation_logs) and
// redelivery (pg_redeliver_event); the cron triggers (get_cron_triggers) with their schedule
// and next fire time (the earliest scheduled event, get_scheduled_events).
import React, { useCallback, useEffect, useState } from 'react';
import { metadataCall } from '../api.js';
import { eventCounts } from '../metadata.js';

const CAP = 1000;
const count = (n) => (n >= CAP ? `${CAP}+` : String(n));
const ops = (t) =>
  ['insert', 'update', 'delete'].filter((op) => t.definition && t.definition[op]).concat(t.definition && t.definition.enable_manual ? ['manual'] : []);

function Trigger({ secret, trigger, tick }) {
  const { table, name } = trigger;
  const [counts, setCounts] = useState(null);
  const [open, setOpen] = useState(false);
  const [recent, setRecent] = useState(null);
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const source = table.source;

  const readCounts = useCallback(async () => {
    try {
      const [pending, processed] = await Promise.all([
        metadataCall(secret, { type: 'pg_get_event_logs', args: { name, source, status: 'pending', limit: CAP } }),
        metadataCall(secret, { type: 'pg_get_event_logs', args: { name, source, status: 'processed', limit: CAP } }),
      ]);
      setCounts({ pending: pending.length, failed: eventCounts(processed).failed, processed: processed.length });
    } catch (e) {
      setError(e.message);
    }
  }, [secret, name, source]);
  const readRecent = useCallback(async () => {
    try {
      const [events, invocations] = await Promise.all([
        metadataCall(secret, { type: 'pg_get_event_logs', args: { name, source, limit: 10 } }),
        metadataCall(secret, { type: 'pg_get_event_invocation_logs', args: { name, source, limit: 10 } }),
      ]);
      setRecent({ events, invocations });
    } catch (e) {
      setError(e.message);
    }
  }, [secret, name, source]);
  useEffect(() => {
    readCounts();
  }, [readCounts, tick]);
  useEffect(() => {
    if (open) readRecent();
  }, [open, readRecent, tick]);

  const redeliver = async (id) => {
    try {
      await metadataCall(secret, { type: 'pg_redeliver_event', args: { event_id: id } });
      setNote(`Event ${id} queued for redelivery.`);
      readCounts();
      readRecent();
    } catch (e) {
      setError(e.message);
    }
  };

  const webhook = trigger.webhook || (trigger.webhook_from_env ? `$${trigger.webhook_from_env}` : '');
  return (
    <tr data-trigger={name}>
      <th scope="row">{name}</th>
      <td data-label="table">
        {table.schema}.{table.name} <span className="ge-muted">({source})</span>
      </td>
      <td data-label="on">{ops(trigger).join(', ') || 'none'}</td>
      <td data-label="webhook" className="ge-break">
        {webhook}
      </td>
      <td data-label="pending" className="ge-pending">
        {counts ? count(counts.pending) : '…'}
      </td>
      <td data-label="failed" className="ge-failed">
        {counts ? count(counts.failed) : '…'}
      </td>
      <td data-label="recent">
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide' : 'Show'} recent
        </button>
        {error && (
          <p className="ge-error" role="alert">
            {error}
          </p>
        )}
        {note && <p role="status">{note}</p>}
        {open && !recent && <p>Reading…</p>}
        {open && recent && (
          <div className="ge-recent">
            <h4>Recent events</h4>
            {recent.events.length === 0 && <p>None.</p>}
            <ul>
              {recent.events.map((e) => (
                <li key={e.id}>
                  <code>{e.id}</code> {e.payload && e.payload.op} · {e.error ? 'failed' : e.delivered ? 'delivered' : 'pending'} · tries {e.tries} ·{' '}
                  {e.created_at}{' '}
                  <button type="button" onClick={() => redeliver(e.id)} aria-label={`Redeliver event ${e.id}`}>
                    Redeliver
                  </button>
                </li>
              ))}
            </ul>
            <h4>Recent invocations</h4>
            {recent.invocations.length === 0 && <p>None.</p>}
            <ul>
              {recent.invocations.map((i) => (
                <li key={i.id}>
                  {i.http_status ? `HTTP ${i.http_status}` : 'no HTTP answer'} · event <code>{i.event_id}</code> · {i.created_at}
                </li>
              ))}
            </ul>
          </div>
        )}
      </td>
    </tr>
  );
}

function Cron({ secret, cron, tick }) {
  const [next, setNext] = useState(null);
  useEffect(() => {
    let live = true;
    metadataCall(secret, {
      type: 'get_scheduled_events',
      args: { type: 'cron', trigger_name: cron.name, status: ['scheduled'], limit: 1 },
    })
      .then((r) => live && setNext((r.events && r.events[0] && r.events[0].scheduled_time) || 'none scheduled'))
      .catch(() => live && setNext('unknown'));
    return () => {
      live = false;
    };
  }, [secret, cron.name, tick]);
  return (
    <tr data-cron={cron.name}>
      <th scope="row">{cron.name}</th>
      <td data-label="schedule">
        <code>{cron.schedule}</code>
      </td>
      <td data-label="next fire time">{next || '…'}</td>
      <td data-label="webhook" className="ge-break">
        {cron.webhook}
      </td>
      <td data-label="comment">{cron.comment || ''}</td>
    </tr>
  );
}

export default function Events({ secret, tables, error: mdError, onRefresh }) {
  const [crons, setCrons] = useState(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    metadataCall(secret, { type: 'get_cron_triggers', args: {} })
      .then((r) => {
        setCrons(r.cron_triggers || []);
        setError('');
      })
      .catch((e) => setError(`Cron triggers unavailable (${e.message}).`));
  }, [secret, tick]);
  const triggers = (tables || []).flatMap((t) => t.eventTriggers.map((et) => ({ ...et, table: t })));
  return (
    <div className="ge-screen-body">
      <div className="ge-row">
        <h2>Events</h2>
        <button
          type="button"
          onClick={() => {
            onRefresh();
            setTick(tick + 1);
          }}
        >
          Refresh
        </button>
      </div>
      {(mdError || error) && (
        <p className="ge-error" role="alert">
          {mdError || error}
        </p>
      )}
      <section className="ge-card" aria-label="Event triggers">
        <h3>Event triggers</h3>
        {tables && triggers.length === 0 && <p>No event triggers.</p>}
        {triggers.length > 0 && (
          <table className="ge-grid ge-event-triggers">
            <thead>
              <tr>
                <th scope="col">trigger</th>
                <th scope="col">table</th>
                <th scope="col">on</th>
                <th scope="col">webhook</th>
                <th scope="col">pending</th>
                <th scope="col">failed</th>
                <th scope="col">recent</th>
              </tr>
            </thead>
            <tbody>
              {triggers.map((t) => (
                <Trigger key={`${t.table.source}.${t.name}`} secret={secret} trigger={t} tick={tick} />
              ))}
            </tbody>
          </table>
        )}
        <p className="ge-muted">Counted over the latest {CAP} events of each kind.</p>
      </section>
      <section className="ge-card" aria-label="Cron triggers">
        <h3>Cron triggers</h3>
        {crons && crons.length === 0 && <p>No cron triggers.</p>}
        {crons && crons.length > 0 && (
          <table className="ge-grid ge-cron-triggers">
            <thead>
              <tr>
                <th scope="col">trigger</th>
                <th scope="col">schedule</th>
                <th scope="col">next fire time</th>
                <th scope="col">webhook</th>
                <th scope="col">comment</th>
              </tr>
            </thead>
            <tbody>
              {crons.map((c) => (
                <Cron key={c.name} secret={secret} cron={c} tick={tick} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
