// The choices of the Insights and equity views: measure, period, scope (site, ward
// type, ward), segmentation and dates. Native form controls with labels, so they work
// with a keyboard and a screen reader as they are; each change updates the address
// (shareable) and the view re-reads.
import type { Catalogue, InsightsParams, MeasureInfo } from '../../insights/api';
import { segmentName } from '../../insights/logic';

export interface ControlsProps {
  catalogue: Catalogue;
  measures: readonly MeasureInfo[];
  params: InsightsParams;
  /** Segmentations on offer ('' = none, when allowed). */
  dimensions: readonly string[];
  allowNoSegment: boolean;
  showPeriod: boolean;
  onChange: (p: Partial<InsightsParams>) => void;
  idPrefix: string;
}

export function Controls({ catalogue, measures, params, dimensions, allowNoSegment, showPeriod, onChange, idPrefix: id }: ControlsProps) {
  const measure = measures.find((m) => m.id === params.measure);
  const byWard = !!measure?.by.includes('ward');
  const sites = catalogue.scope.sites;
  const wardsHere = catalogue.scope.wards.filter((w) => (!params.site || w.site === params.site) && (!params.wardType || w.wardType === params.wardType));
  const wardTypes = [...new Set(catalogue.scope.wards.filter((w) => !params.site || w.site === params.site).map((w) => w.wardType))].sort();
  const ward = catalogue.scope.role === 'ward';
  return (
    <form class="insights-controls" aria-label="Chart choices" onSubmit={(e) => e.preventDefault()}>
      <p class="control control-wide">
        <label for={`${id}-measure`}>Measure</label>
        <select id={`${id}-measure`} data-testid="measure-picker" value={params.measure} onChange={(e) => onChange({ measure: e.currentTarget.value, rebaseAt: '' })}>
          {measures.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
        </select>
      </p>
      {showPeriod && (
        <fieldset class="control">
          <legend>Period</legend>
          {(['week', 'month'] as const).map((p) => (
            <label key={p} class="radio">
              <input type="radio" name={`${id}-period`} value={p} checked={params.period === p} onChange={() => onChange({ period: p, rebaseAt: '' })} />
              {p === 'week' ? 'Week' : 'Month'}
            </label>
          ))}
        </fieldset>
      )}
      {sites.length > 1 && (
        <p class="control">
          <label for={`${id}-site`}>Site</label>
          <select id={`${id}-site`} value={params.site} onChange={(e) => onChange({ site: e.currentTarget.value, ward: '', wardType: '' })}>
            <option value="">All my sites</option>
            {sites.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </p>
      )}
      <p class="control">
        <label for={`${id}-wardtype`}>Ward type</label>
        <select id={`${id}-wardtype`} value={byWard ? params.wardType : ''} disabled={!byWard} onChange={(e) => onChange({ wardType: e.currentTarget.value, ward: '' })}>
          <option value="">{ward ? 'All my ward types' : 'All ward types'}</option>
          {wardTypes.map((t) => <option key={t} value={t}>{t.replace(/_/g, ' ')}</option>)}
        </select>
      </p>
      <p class="control">
        <label for={`${id}-ward`}>Ward</label>
        <select id={`${id}-ward`} data-testid="ward-picker" value={byWard ? params.ward : ''} disabled={!byWard} onChange={(e) => onChange({ ward: e.currentTarget.value })}>
          <option value="">{ward ? 'All my wards' : 'All wards'}</option>
          {wardsHere.map((w) => <option key={`${w.site}/${w.ward}`} value={w.ward}>{w.name}{sites.length > 1 ? ` (${w.site})` : ''}</option>)}
        </select>
      </p>
      <p class="control">
        <label for={`${id}-by`}>{allowNoSegment ? 'Segment by' : 'Compare'}</label>
        <select id={`${id}-by`} data-testid="segment-picker" value={params.by} onChange={(e) => onChange({ by: e.currentTarget.value })}>
          {allowNoSegment && <option value="">No segmentation</option>}
          {dimensions.map((d) => <option key={d} value={d}>{segmentName(d)}</option>)}
        </select>
      </p>
      <p class="control">
        <label for={`${id}-from`}>From</label>
        <input id={`${id}-from`} type="date" value={params.from} onChange={(e) => onChange({ from: e.currentTarget.value })} />
      </p>
      <p class="control">
        <label for={`${id}-to`}>Before</label>
        <input id={`${id}-to`} type="date" value={params.to} onChange={(e) => onChange({ to: e.currentTarget.value })} />
      </p>
      {!byWard && measure && <p class="hint control-wide">{measure.name} is counted by team, so it has no ward scope.</p>}
    </form>
  );
}
