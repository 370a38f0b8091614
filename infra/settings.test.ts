import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, readStackSettings } from './settings';

const ROOT = path.resolve(__dirname, '..');

describe('readStackSettings (no Pulumi engine)', () => {
  it('reads and validates the real stack files', () => {
    const dev = readStackSettings('dev', ROOT);
    const prod = readStackSettings('prod', ROOT);
    expect(dev.environment).toBe('dev');
    expect(dev.serving.routes).toEqual({ champion: 90, challenger: 10 });
    expect(prod.environment).toBe('prod');
    expect(prod.serving.target).not.toBe(dev.serving.target);
  });

  it('names the known stacks for an unknown one', () => {
    expect(() => readStackSettings('qa', ROOT)).toThrowError(ConfigError);
    expect(() => readStackSettings('qa', ROOT)).toThrow(/stack: unknown stack "qa"; allowed: dev, prod/);
    expect(() => readStackSettings('../etc', ROOT)).toThrow(/unknown stack/);
  });
});
