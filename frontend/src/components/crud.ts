// Declarative descriptions of a resource's table columns and form fields.
export type FieldType =
  | 'text'
  | 'textarea'
  | 'password'
  | 'number'
  | 'switch'
  | 'select'
  | 'tags'
  | 'checkboxes'
  | 'remote'
  | 'nodes'
  | 'datetime'
  | 'time'
  | 'secret'
  | 'custom'

export interface Option {
  value: string | number
  label: string
}

export type FormModel = Record<string, unknown>
export type Mode = 'create' | 'edit'

export interface FieldDef {
  key: string
  label: string // i18n key
  type?: FieldType
  required?: boolean
  options?: Option[] | (() => Option[])
  multiple?: boolean
  remote?: { path: string; labelKey?: string; subKey?: string }
  placeholder?: string // i18n key
  help?: string // i18n key
  createOnly?: boolean
  readonlyOnEdit?: boolean
  hidden?: (form: FormModel, mode: Mode) => boolean
  default?: unknown
  min?: number
  max?: number
  /** For secrets: the row field telling whether one is set (e.g. has_secret). */
  hasKey?: string
  span?: 1 | 2
}

export interface ColumnDef {
  key: string
  label: string // i18n key
  width?: number | string
  minWidth?: number | string
  type?: 'text' | 'bool' | 'datetime' | 'tags' | 'mono'
  sortable?: boolean
  formatter?: (row: Record<string, unknown>) => string
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Row = Record<string, any>

export function optionsOf(f: FieldDef): Option[] {
  return typeof f.options === 'function' ? f.options() : (f.options ?? [])
}

export function emptyValue(f: FieldDef): unknown {
  if (f.default !== undefined) return typeof f.default === 'object' && f.default ? structuredClone(f.default) : f.default
  switch (f.type) {
    case 'switch':
      return false
    case 'number':
      return undefined
    case 'tags':
    case 'checkboxes':
      return []
    case 'remote':
    case 'nodes':
      return f.multiple === false ? null : []
    default:
      return ''
  }
}
