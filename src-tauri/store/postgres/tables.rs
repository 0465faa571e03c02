//! Whole tables, as cells: what `keyward copy` reads from one store and writes to another.
//! Rows go in by the thousand, one array per column (`unnest`), not one statement a row.

use super::PgTx;
use crate::core::{Error, Result};
use crate::rules::storage::{Cell, Kind, Table, Tables};
use postgres::types::ToSql;
use postgres::Row;

/// Rows per INSERT.
const CHUNK: usize = 5_000;

fn cell(row: &Row, index: usize, kind: Kind) -> Cell {
    let cell = match kind {
        Kind::Text => row.get::<_, Option<String>>(index).map(Cell::Text),
        Kind::BigInt => row.get::<_, Option<i64>>(index).map(Cell::Int),
        Kind::Int => row
            .get::<_, Option<i32>>(index)
            .map(|n| Cell::Int(i64::from(n))),
        Kind::Bool => row.get::<_, Option<bool>>(index).map(Cell::Bool),
        Kind::Bytes => row.get::<_, Option<Vec<u8>>>(index).map(Cell::Bytes),
    };
    cell.unwrap_or(Cell::Null)
}

fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text[]",
        Kind::BigInt => "bigint[]",
        Kind::Int => "integer[]",
        Kind::Bool => "boolean[]",
        Kind::Bytes => "bytea[]",
    }
}

fn mismatch(table: &Table, column: &str) -> Error {
    Error::Internal(format!(
        "a value of {}.{column} is not of the column's kind",
        table.name
    ))
}

/// One column of a chunk of rows, as the array parameter of its kind.
fn column(table: &Table, rows: &[Vec<Cell>], index: usize) -> Result<Box<dyn ToSql + Sync>> {
    let (name, kind) = table.columns[index];
    let cells = rows.iter().map(|row| &row[index]);
    Ok(match kind {
        Kind::Text => Box::new(
            cells
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Text(t) => Ok(Some(t.clone())),
                    _ => Err(mismatch(table, name)),
                })
                .collect::<Result<Vec<Option<String>>>>()?,
        ),
        Kind::BigInt => Box::new(
            cells
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Int(n) => Ok(Some(*n)),
                    _ => Err(mismatch(table, name)),
                })
                .collect::<Result<Vec<Option<i64>>>>()?,
        ),
        Kind::Int => Box::new(
            cells
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Int(n) => i32::try_from(*n)
                        .map(Some)
                        .map_err(|_| mismatch(table, name)),
                    _ => Err(mismatch(table, name)),
                })
                .collect::<Result<Vec<Option<i32>>>>()?,
        ),
        Kind::Bool => Box::new(
            cells
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Bool(b) => Ok(Some(*b)),
                    Cell::Int(n) => Ok(Some(*n != 0)),
                    _ => Err(mismatch(table, name)),
                })
                .collect::<Result<Vec<Option<bool>>>>()?,
        ),
        Kind::Bytes => Box::new(
            cells
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Bytes(b) => Ok(Some(b.clone())),
                    _ => Err(mismatch(table, name)),
                })
                .collect::<Result<Vec<Option<Vec<u8>>>>>()?,
        ),
    })
}

impl Tables for PgTx<'_> {
    fn count_rows(&self, table: &Table) -> Result<u64> {
        let row = self.query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    fn rows_of(&self, table: &Table) -> Result<Vec<Vec<Cell>>> {
        let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        let rows = self.query(
            &format!(
                "SELECT {} FROM {} ORDER BY {}",
                columns.join(", "),
                table.name,
                table.order_by
            ),
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| cell(row, i, *kind))
                    .collect()
            })
            .collect())
    }

    fn insert_rows(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        let arrays: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| format!("${}::{}", i + 1, sql_type(*kind)))
            .collect();
        // The audit log's ids are generated; a copy keeps the source's.
        let overriding = if table.name == "audit_log" {
            "OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO {} ({}) {overriding} SELECT * FROM unnest({})",
            table.name,
            names.join(", "),
            arrays.join(", ")
        );
        for chunk in rows.chunks(CHUNK) {
            let columns = (0..table.columns.len())
                .map(|i| column(table, chunk, i))
                .collect::<Result<Vec<_>>>()?;
            let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(|c| c.as_ref()).collect();
            self.execute(&sql, &params)?;
        }
        Ok(())
    }

    fn clear_new_directory(&self) -> Result<()> {
        self.batch("DELETE FROM roles; DELETE FROM settings;")
    }

    fn after_copy(&self) -> Result<()> {
        // New audit ids follow the copied ones; and the planner learns what was just loaded
        // (autovacuum would, later).
        self.batch(
            "SELECT setval(pg_get_serial_sequence('audit_log', 'id'),
                           COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, false);
             ANALYZE",
        )
    }
}
