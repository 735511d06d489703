import type { Id, NodeItem } from '@/api/types'

export interface TreeNode {
  id: Id
  label: string
  count?: number
  children: TreeNode[]
}

/** Flat {id, parent_id} rows → nested tree; orphans become roots. */
export function buildTree(nodes: NodeItem[]): TreeNode[] {
  const map = new Map<string, TreeNode>()
  for (const n of nodes) map.set(String(n.id), { id: n.id, label: n.name, count: n.asset_count, children: [] })
  const roots: TreeNode[] = []
  for (const n of nodes) {
    const me = map.get(String(n.id))!
    const parent = n.parent_id !== null && n.parent_id !== undefined ? map.get(String(n.parent_id)) : undefined
    if (parent && parent !== me) parent.children.push(me)
    else roots.push(me)
  }
  const sort = (list: TreeNode[]) => {
    list.sort((a, b) => a.label.localeCompare(b.label))
    list.forEach((c) => sort(c.children))
  }
  sort(roots)
  return roots
}
