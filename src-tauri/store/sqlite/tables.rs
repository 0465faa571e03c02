//! Whole tables, as cells: what `keyward copy` reads from one store and writes to another.

use super::SqliteTx;
use crate::core::Result;
use crate::rules::storage::{Cell, Kind, Table, Tables};
use rusqlite::types::Value;

fn cell(value: Value, kind: Kind) -> Cell {
    match (value, kind) {
        (Value::Null, _) => Cell::Null,
        (Value::Integer(n), Kind::Bool) => Cell::Bool(n != 0),
        (Value::Integer(n), _) => Cell::Int(n),
        (Value::Real(f), _) => Cell::Int(f as i64),
        (Value::Text(t), _) => Cell::Text(t),
        (Value::Blob(b), _) => Cell::Bytes(b),
    }
}

fn value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(n) => Value::Integer(*n),
        Cell::Bool(b) => Value::Integer(i64::from(*b)),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Bytes(b) => Value::Blob(b.clone()),
    }
}

fn column_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Tables for SqliteTx<'_> {
    fn count_rows(&self, table: &Table) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        let count: i64 = self.0.query_row(&sql, [], |r| r.get(0))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn rows_of(&self, table: &Table) -> Result<Vec<Vec<Cell>>> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            column_list(table),
            table.name,
            table.order_by
        );
        let mut statement = self.0.prepare(&sql)?;
        let rows = statement.query_map([], |row| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| Ok(cell(row.get::<_, Value>(i)?, *kind)))
                .collect::<rusqlite::Result<Vec<Cell>>>()
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn insert_rows(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        let placeholders = vec!["?"; table.columns.len()].join(", ");
        let mut insert = self.0.prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({placeholders})",
            table.name,
            column_list(table)
        ))?;
        for row in rows {
            insert.execute(rusqlite::params_from_iter(row.iter().map(value)))?;
        }
        Ok(())
    }

    fn clear_new_directory(&self) -> Result<()> {
        self.0
            .execute_batch("DELETE FROM roles; DELETE FROM settings;")?;
        Ok(())
    }

    fn after_copy(&self) -> Result<()> {
        // AUTOINCREMENT follows the largest id inserted by itself.
        Ok(())
    }
}
