" syntax/agg.vim - Vim syntax for .agg domain files (Incident for C, aggc).
" Language reference: docs/language.md.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" Keywords.  `command`, `event` and `state` are matches, not keywords, so
" that `command.amount` below can take precedence over them.
syn keyword aggStatement   require fail emit
syn keyword aggConditional if else
syn keyword aggKeyword     domain execute apply check
syn keyword aggStructure   aggregate enum projection view
syn match   aggStructure   "\<\%(command\|event\|state\)\>"
syn keyword aggModifier    extern
syn keyword aggType        int float bool string timestamp
syn keyword aggBoolean     true false
syn keyword aggNull        null
syn keyword aggImplicit    aggregate_id version updated_at

" Schema evolution: `event New was Old` and `upcast N`, words only there;
" `old.f` in an upcast block.
syn match aggKeyword "\%(\<event\s\+\h\w*\s\+\)\@<=was\>"
syn match aggKeyword "\<upcast\ze\s\+\d"

" Names being declared, and the command/event an execute/apply/emit names.
syn match aggDomainName "\%(\<domain\s\+\)\@<=\h\w*"
syn match aggDeclName   "\%(\<\%(aggregate\|command\|event\|enum\|projection\|view\)\s\+\)\@<=\h\w*"
syn match aggRuleName   "\%(\<\%(execute\|apply\|emit\)\s\+\)\@<=\h\w*"

" Rejection codes: after `else` (check/require) and `fail`; not `else if`.
syn match aggCode "\%(\<\%(else\|fail\)\s\+\)\@<=\%(if\>\)\@!\h\w*"

" command.f, event.f, state.f, Enum.member
syn match aggEnumRef  "\<\h\w*\ze\s*\.\s*\h"
syn match aggContext  "\<\%(command\|event\|state\|old\)\ze\s*\.\s*\h"
syn match aggMember   "\%(\.\s*\)\@<=\h\w*"

" Field declarations `name: Type?` and the type after the colon.
syn match aggFieldName "\<\h\w*\ze\s*:"
syn match aggTypeName  "\%(:\s*\)\@<=\h\w*" contains=aggType
syn match aggOptional  "?"

syn match aggNumber "\<\d\+\>"
syn match aggFloat  "\<\d\+\.\d\+\%([eE][+-]\=\d\+\)\=\>"
syn match aggFloat  "\<\d\+[eE][+-]\=\d\+\>"

syn match  aggEscape    contained "\\[\"\\/nrt]\|\\u\x\{4}"
syn match  aggBadEscape contained "\\\%([\"\\/nrt]\|u\x\{4}\)\@!."
syn region aggString start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ contains=aggEscape,aggBadEscape,@Spell

syn match aggOperator "&&\|||\|==\|!=\|<=\|>=\|+=\|-=\|[-+*/%<>!=]"

syn keyword aggTodo contained TODO FIXME XXX NOTE
syn region  aggComment start="//" end="$" contains=aggTodo,@Spell
syn region  aggComment start="/\*" end="\*/" contains=aggTodo,@Spell fold

syn region aggBlock start="{" end="}" transparent fold

hi def link aggStatement   Statement
hi def link aggConditional Conditional
hi def link aggKeyword     Keyword
hi def link aggStructure   Structure
hi def link aggModifier    StorageClass
hi def link aggType        Type
hi def link aggTypeName    Type
hi def link aggOptional    Operator
hi def link aggBoolean     Boolean
hi def link aggNull        Constant
hi def link aggImplicit    Identifier
hi def link aggDomainName  Identifier
hi def link aggDeclName    Function
hi def link aggRuleName    Function
hi def link aggCode        Constant
hi def link aggContext     Special
hi def link aggEnumRef     Type
hi def link aggMember      Identifier
hi def link aggFieldName   Identifier
hi def link aggNumber      Number
hi def link aggFloat       Float
hi def link aggString      String
hi def link aggEscape      SpecialChar
hi def link aggBadEscape   Error
hi def link aggOperator    Operator
hi def link aggTodo        Todo
hi def link aggComment     Comment

let b:current_syntax = 'agg'

let &cpo = s:cpo_save
unlet s:cpo_save
