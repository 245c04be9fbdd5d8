import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG_BATCHES, catalogSql, catalogSqlDirs } from '../../provider/engines/sqlserver/catalog';

const SQL_DIR = path.join(__dirname, '..', '..', 'provider', 'engines', 'sqlserver', 'sql');

describe('SQL Server catalog SQL files', () => {
  it('are found from the sources and from dist/ (tsc does not copy them)', () => {
    const fromDist = catalogSqlDirs(path.join(__dirname, '..', '..', 'dist', 'provider', 'engines', 'sqlserver'));
    expect(catalogSql('sql-logins', fromDist.slice(1))).toContain('FROM sys.sql_logins AS sl;');
    expect(() => catalogSql('no-such-query', ['/nonexistent'])).toThrow(/installation is incomplete: catalog query no-such-query.sql not found/);
  });

  it('each file says what it reads in a leading comment, and the server gets the statements alone', () => {
    const files = fs.readdirSync(SQL_DIR).filter((f) => f.endsWith('.sql'));
    expect(files.length).toBeGreaterThanOrEqual(18);
    for (const file of files) {
      const text = fs.readFileSync(path.join(SQL_DIR, file), 'utf8');
      expect(text.startsWith('--'), file).toBe(true);
      const sent = catalogSql(file.replace(/\.sql$/, ''));
      expect(sent, file).not.toMatch(/^--/m);
      expect(text.trimEnd().endsWith(sent), file).toBe(true);
    }
  });

  it('every batch reads only files that exist, one statement per result set', () => {
    expect(CATALOG_BATCHES.WAREHOUSE_CATALOG_SQL.match(/^SELECT /gm)).toHaveLength(5);
    expect(CATALOG_BATCHES.EXPORT_CATALOG_SQL.match(/^SELECT /gm)).toHaveLength(8);
    expect(CATALOG_BATCHES.ACCESS_SQL.match(/^SELECT /gm)).toHaveLength(9);
    expect(CATALOG_BATCHES.PREFLIGHT_SQLSERVER_SQL.match(/^SELECT /gm)).toHaveLength(3);
    for (const sql of Object.values(Object.getOwnPropertyDescriptors(CATALOG_BATCHES)).map((d) => d.get!.call(CATALOG_BATCHES) as string)) {
      expect(sql.length).toBeGreaterThan(20);
    }
  });
});
