-- Step lists read a page at a time, whatever the deployment's size.
-- `planned`: what the plan said of each step (region, dependencies, estimates, changed paths, owner stack), so a page
-- of steps is read from its own rows instead of the whole plan document.
-- The order index serves GET /deployments/{id}/steps: keyset pages in step order (wave, then s1, s2, ..., s10),
-- optionally within one wave. It starts with (deployment_id, wave), so it replaces deployment_steps_wave_idx.

ALTER TABLE deployment_steps ADD COLUMN planned jsonb CHECK (jsonb_typeof(planned) = 'object');

UPDATE deployment_steps s
SET planned = jsonb_build_object(
    'region', p.step->'region', 'dependencies', p.step->'dependencies',
    'estimated_duration_seconds', p.step->'estimated_duration_seconds', 'monthly_cost', p.step->'monthly_cost',
    'changed_paths', p.step->'changed_paths', 'owner_stack', p.step->'owner_stack')
FROM (SELECT d.id, step FROM deployments d, jsonb_array_elements(d.plan->'steps') AS step
      WHERE d.plan IS NOT NULL) AS p
WHERE p.id = s.deployment_id AND p.step->>'step_id' = s.step_id;

CREATE INDEX deployment_steps_order_idx ON deployment_steps (deployment_id, wave, length(step_id), step_id);
DROP INDEX deployment_steps_wave_idx;
