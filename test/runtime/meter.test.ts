/**
 * Fuel is charged by instruction count: big loop bodies and folded callees
 * pay for their size on every iteration, so no code shape gets cheap work.
 */
import binaryen from 'binaryen';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/index.ts';

const runtime = new Runtime();
afterAll(() => runtime.close());

/** A loop of `iterations` turns whose body has `width` extra instructions, optionally through a helper function. */
function loopModule(width: number, viaHelper: boolean): Uint8Array {
  const work = Array.from({ length: width }, () => '(drop (i32.const 7))').join(' ');
  const helper = `(func $helper ${work})`;
  const body = viaHelper ? '(call $helper)' : work;
  const text = `(module (memory (export "memory") 1)
    ${helper}
    (func (export "run") (result i32) (local $i i32)
      (loop $again ${body}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))
      (i32.const 0)))`;
  const mod = binaryen.parseText(text);
  try {
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

describe('fuel by instruction count', () => {
  for (const viaHelper of [false, true]) {
    it(`a 1,000-turn loop over 1,000 dropped constants${viaHelper ? ' in a helper function' : ''} costs at least a million fuel`, async () => {
      const binding = runtime.bind(await runtime.prepare(loopModule(1000, viaHelper)), { apiId: `meter-${viaHelper}` });
      const { fuelUsed } = await binding.callRaw('run', new Uint8Array(0));
      expect(fuelUsed).toBeGreaterThanOrEqual(1000 * 1000);
      // A budget below the work stops it.
      await expect(binding.callRaw('run', new Uint8Array(0), { fuel: 500_000 })).rejects.toMatchObject({
        code: 'FUEL_EXHAUSTED',
      });
      // And the same binding runs again with the default budget.
      await expect(binding.callRaw('run', new Uint8Array(0))).resolves.toBeDefined();
    });
  }

  it('a small loop body costs little', async () => {
    const binding = runtime.bind(await runtime.prepare(loopModule(1, false)), { apiId: 'meter-small' });
    const { fuelUsed } = await binding.callRaw('run', new Uint8Array(0));
    expect(fuelUsed).toBeGreaterThanOrEqual(1000 * 5);
    expect(fuelUsed).toBeLessThan(1000 * 40);
  });
});
